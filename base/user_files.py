"""The one way debatelab reads a file a user gives it: configurations, topologies, rubrics, scenario
and question sets, experiments, transcripts, imports, ratings.

Checks come in this order, each failing with one line that names the file: it is a regular file;
it is not larger than a generous bound; it is UTF-8 text (the failing byte offset is named); and,
for YAML, its nesting depth and alias count are bounded *before* the parser builds anything.
libyaml's C composer recurses per nesting level and crashes the process (SIGSEGV) on a file
nested some tens of thousands deep, and aliases can make a small file expand enormously
downstream ("billion laughs"); both are refused up front instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from debatelab.base.errors import UserError

MiB = 1 << 20
MAX_TEXT_BYTES = 32 * MiB  # configurations, rubrics, sets, experiments, transcripts, ratings
MAX_IMPORT_BYTES = 512 * MiB  # a study's full results file
MAX_DEPTH = 64  # nesting levels; debatelab's own files use fewer than 8
MAX_ALIASES = 100  # YAML aliases (*name) in one file

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENERS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
            yaml.FlowSequenceStartToken)
_CLOSERS = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _human(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def read_user_bytes(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    p = Path(path)
    try:
        if not p.exists():
            raise UserError(f"{p}: file not found")
        if p.is_dir():
            raise UserError(f"{p}: is a directory; give a file")
        if not p.is_file():
            raise UserError(f"{p}: not a regular file; give a file")
        size = p.stat().st_size
        if size > max_bytes:
            raise UserError(f"{p}: {_human(size)} is over the {_human(max_bytes)} limit for this kind of file")
        return p.read_bytes()
    except PermissionError:
        raise UserError(f"{p}: permission denied; make it readable") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read it ({exc.strerror})") from None


def read_user_text(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A user's text file, decoded as UTF-8 (a BOM is allowed), or one clear error."""
    data = read_user_bytes(path, max_bytes=max_bytes)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path}: is UTF-16 text; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); save it as UTF-8") from None
    if "\x00" in text:
        raise UserError(f"{path}: contains NUL bytes (a binary file?); give a text file")
    return text


def check_yaml_shape(text: str, source: str) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH or with more than MAX_ALIASES aliases.

    Scanning is iterative (no recursion), so this is safe on any input; only then may the
    composer, which recurses, see the text.
    """
    depth = aliases = 0
    try:
        for token in yaml.scan(text, Loader=_SAFE_LOADER):
            if isinstance(token, _OPENERS):
                depth += 1
                if depth > MAX_DEPTH:
                    line = token.start_mark.line + 1 if token.start_mark else "?"
                    raise _too_deep(source, f" line {line}")
            elif isinstance(token, _CLOSERS):
                depth -= 1
            elif isinstance(token, yaml.AliasToken):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise UserError(f"{source}: more than {MAX_ALIASES} YAML aliases (*name); write the values out")
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc) from None


def _yaml_error(source: str, exc: yaml.YAMLError) -> UserError:
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "nesting depth" in problem or "nested too deep" in problem:
        # libyaml (PyYAML >= 6.0.3) may stop deep nesting in its scanner before our own count
        # sees it: the user gets the same message whichever of the two noticed first.
        return _too_deep(source, where)
    return UserError(f"{source}:{where}: invalid YAML ({problem}); fix the syntax there")


def _too_deep(source: str, where: str) -> UserError:
    return UserError(f"{source}:{where}: nested more than {MAX_DEPTH} levels deep; flatten the structure")


def parse_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text safely (never `yaml.load` with a full loader) after the shape checks."""
    check_yaml_shape(text, source)
    try:
        # The C loader when libyaml is there (10x faster); both are safe loaders.
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc) from None
    except RecursionError:
        raise UserError(f"{source}: nested too deeply; flatten the structure") from None


def read_user_yaml(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES) -> Any:
    return parse_yaml_text(read_user_text(path, max_bytes=max_bytes), str(path))


def parse_json_text(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}: " if ": line " not in source else ""
        raise UserError(f"{source}: {where}invalid JSON ({exc.msg}); fix the syntax there") from None
    except RecursionError:
        raise UserError(f"{source}: nested too deeply; flatten the structure") from None


def read_user_json(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES) -> Any:
    return parse_json_text(read_user_text(path, max_bytes=max_bytes), str(path))


def read_user_jsonl_lines(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES) -> list[tuple[int, Any]]:
    """(line number in the file, JSON value) for every non-empty line; an error names the line.
    Numbers count every line of the file, blank ones included, so an error points at the right one."""
    records = []
    # Only \n ends a line in JSONL (splitlines would also split at characters a JSON string may hold).
    for number, line in enumerate(read_user_text(path, max_bytes=max_bytes).split("\n"), start=1):
        if line.strip():
            records.append((number, parse_json_text(line, f"{path}: line {number}")))
    return records


def read_user_jsonl(path: str | Path, *, max_bytes: int = MAX_TEXT_BYTES) -> list[Any]:
    """One JSON value per non-empty line; an error names the line."""
    return [record for _, record in read_user_jsonl_lines(path, max_bytes=max_bytes)]


def safe_file_name(name: str) -> str:
    """`name` (an experiment's, from a store that may be hostile) as one file name in the working
    directory: no folder parts, no leading dot, nothing but letters, digits, _ . -"""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "experiment"
    return cleaned[:120]
