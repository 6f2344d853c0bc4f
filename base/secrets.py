"""Keeping credentials out of everything debatelab writes.

A host URL may carry a password (`http://user:password@gpu-box:11434`, a reverse proxy's basic
auth). debatelab sends it to that host and nowhere else: results, checkpoints, traces, logs,
error messages and reports get the URL with its password replaced by `***`. API keys are never
held in a spec at all: a spec names the environment variable to read the key from.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://user:password@ (the password is whatever lies between the first ':' after the user and
# the '@'); a bare user@ carries no secret and is kept.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")
REDACTED = "***"


def redact(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`."""
    if "@" not in text or "://" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)


def redact_all(value: Any) -> Any:
    """`value` (dicts, lists, tuples, strings) with every URL password redacted, for storing."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_all(v) for v in value)
    return value
