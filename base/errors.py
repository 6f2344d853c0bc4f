"""User-facing errors.

Every mistake a user can make (a bad file, an unknown name, a dead server) becomes a
`UserError` whose message is one line naming the thing and the fix. The CLI prints that line
and exits non-zero instead of showing a traceback.

Messages often quote what the user gave (a debate id from a CSV, a field of a file, a host URL).
Such text may hold terminal escape sequences or other control characters, which a terminal would
obey, or a password in a URL; every message is made safe here, once, so no caller has to remember.
"""

from __future__ import annotations

import unicodedata
from enum import IntEnum

from debatelab.base.secrets import redact


def printable(text: str) -> str:
    """`text` with every control character but the line break shown as an escape (`\\x1b`), so a
    message quoting user data cannot move the cursor, recolour or retitle a terminal."""
    return "".join(ch if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf") else ch.encode(
        "unicode_escape").decode("ascii") for ch in text)


class ExitCode(IntEnum):
    """What `debatelab` exits with, for scripts and schedulers (a SLURM array reads these)."""

    OK = 0
    SYSTEM = 1  # the system refused a read or a write (a full disk, a closed pipe, no permission)
    USAGE = 2  # a user's mistake: a bad file, field, option or command line (UserError)
    MODEL_UNAVAILABLE = 3  # a model host unreachable or a model missing (ModelUnavailableError)
    ITEMS_FAILED = 4  # the run finished, but some items (debates, judgments, questions) failed: re-run resumes
    INTERRUPTED = 130  # Ctrl-C at a clean boundary: re-run resumes


class UserError(Exception):
    """A problem the user can fix; its message is shown as is, on one line."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        # One line per problem: collapse stray whitespace but keep intended line breaks. A URL's
        # password never reaches a terminal or a log.
        safe = printable(redact(message))
        super().__init__("\n".join(" ".join(line.split()) for line in safe.splitlines() if line.strip()))


class ModelUnavailableError(UserError):
    """A model host is unreachable or a model is missing (preflight or mid-run)."""

    exit_code = ExitCode.MODEL_UNAVAILABLE
