"""Keeping credentials out of everything debatelab writes.

A host URL may carry a password (`http://user:password@gpu-box:11434`, a reverse proxy's basic
auth) or a key in its query string (`?api_key=...`). debatelab sends it to that host and nowhere
else: results, checkpoints, traces, logs, error messages and reports get the URL with its secret
replaced by `***`. API keys are never held in a spec at all: a spec names the environment variable
to read the key from, and the key read from it is remembered here (`remember_secret`) so that a
server which echoes it (`Bearer sk-...` in an error body, or in a reply) has it redacted too.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://user:password@ (the password is whatever lies between the first ':' after the user and
# the '@'); a bare user@ carries no secret and is kept.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")
REDACTED = "***"
# A key in a URL's query string, and an Authorization header's credentials, wherever they appear.
_QUERY_SECRET = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|secret|password|sig|signature)=)"
                           r"[^&#\s'\"]+")
_BEARER = re.compile(r"\b(Bearer|Basic|bearer) [A-Za-z0-9._~+/=-]{16,}")  # a header's credentials, not prose
MIN_SECRET_CHARS = 8  # shorter values would redact ordinary words
_SECRETS: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Redact `value` (an API key read from the environment) wherever it appears from now on."""
    if value and len(value) >= MIN_SECRET_CHARS:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """`text` with every URL's password and query-string key, every `Bearer ...` credential and
    every remembered API key replaced by `***`."""
    text = redact_known(text)
    if "earer " in text or "Basic " in text:
        text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    if "=" in text and ("?" in text or "&" in text):
        text = _QUERY_SECRET.sub(lambda m: f"{m[1]}{REDACTED}", text)
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


def redact_known(text: str) -> str:
    """`text` with every remembered API key replaced: for a model's reply, which a server may fill
    with the key it was sent (prose is otherwise left exactly as the model wrote it)."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_exception(exc: BaseException) -> BaseException:
    """`exc` with its message (args, and the `message` a client's error carries) redacted in
    place: LangGraph stores a failed node's error in the checkpoint database, and the CLI prints it."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        try:
            exc.message = redact(message)  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return exc
