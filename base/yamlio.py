"""Loading YAML files into pydantic models with errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from debatelab.base.errors import UserError
from debatelab.base.user_files import read_user_yaml

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: str | Path) -> Any:
    """Parse a user's YAML file safely: a file, a bounded size, UTF-8, bounded depth and aliases,
    a safe loader (never `yaml.load` with a full one); every failure is one line naming the file."""
    return read_user_yaml(path)


def describe_validation_error(source: str, exc: ValidationError) -> str:
    """One line naming the first failing field (dotted path) and what is wrong with it."""
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"]) or "(top level)"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: field '{field}': {err['msg'].removeprefix('Value error, ')}{more}"


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate `data` as `model`, turning pydantic's error into a one-line UserError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError(describe_validation_error(source, exc)) from None


def load_yaml_model(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as `model`."""
    return validate(model, read_yaml(path), str(path))
