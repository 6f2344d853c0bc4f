"""Spreadsheet-safe CSV cells (OWASP's CSV-injection guidance).

A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula: a rating reason such as `=HYPERLINK("http://evil", "click")` exported as is becomes a live
link, and `+cmd|...` a command on some systems. Every CSV debatelab writes with free text passes
its cells through `neutralise_cell`, which prefixes such text with a single quote, the mark
spreadsheets read as "this is text". Numbers are left alone. `restore_cell` undoes it, so a
file exported and imported again round-trips exactly.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, prefixed with `'`; anything else unchanged."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or _is_neutralised(value)):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """A cell written by `neutralise_cell`, as it was before."""
    return value[1:] if _is_neutralised(value) else value


def _is_neutralised(value: str) -> bool:
    # A text that already begins with "'" and a formula character gets one more quote on the way
    # out, so that removing one on the way back in is always right.
    return value.startswith("'") and value[1:].startswith((*FORMULA_STARTS, "'"))
