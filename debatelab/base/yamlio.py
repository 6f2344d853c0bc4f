"""Loading YAML files into pydantic models with errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from debatelab.base.errors import UserError

M = TypeVar("M", bound=BaseModel)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely (never `yaml.load`), naming file and line on a syntax error."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: file not found")
    try:
        # The C loader when libyaml is there (10x faster); both are safe loaders.
        return yaml.load(p.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{p}:{where}: invalid YAML ({problem}); fix the syntax there") from None


def describe_validation_error(source: str, exc: ValidationError) -> str:
    """One line naming the first failing field (dotted path) and what is wrong with it."""
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"]) or "(top level)"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: field '{field}': {err['msg']}{more}"


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate `data` as `model`, turning pydantic's error into a one-line UserError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError(describe_validation_error(source, exc)) from None


def load_yaml_model(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as `model`."""
    return validate(model, read_yaml(path), str(path))
