"""User-facing errors.

Every mistake a user can make (a bad file, an unknown name, a dead server) becomes a
`UserError` whose message is one line naming the thing and the fix. The CLI prints that line
and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; its message is shown as is, on one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line per problem: collapse stray whitespace but keep intended line breaks.
        super().__init__("\n".join(" ".join(line.split()) for line in message.splitlines() if line.strip()))


class ModelUnavailableError(UserError):
    """A model host is unreachable or a model is missing (preflight or mid-run)."""

    exit_code = 3
