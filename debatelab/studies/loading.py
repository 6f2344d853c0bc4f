"""Loading an experiment file into its study's model, and the editors' JSON Schema of all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from pydantic import TypeAdapter

from debatelab.base import UserError, read_yaml, resolve_config_file, validate
from debatelab.studies.registry import all_studies, study_for


def _owner_of(field: str, studies: list[Any]) -> str | None:
    return next((s.name for s in studies if field in s.spec.model_fields), None)


def load_experiment(ref: str | Path) -> Any:
    """Load an experiment by path or built-in name (`experiments/demo`) as its study's model.

    The file's `kind` picks the study (a missing kind is the rubric study; `questions`, the name of
    0.3, is resolved by its `w2s` or `debate` section). A field another study owns is refused with
    the study that takes it."""
    path = resolve_config_file(ref, what="experiment")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: an experiment file is a mapping of fields (name, kind, ...)")
    kind = data.get("kind")
    chosen = study_for(str(kind) if kind is not None else None, data, str(path))
    foreign = [k for k in data if k not in chosen.spec.model_fields]
    if foreign:
        owner = _owner_of(str(foreign[0]), list(all_studies().values()))
        hint = (f"only an experiment of kind {owner!r} takes it" if owner else
                f"not a field of a {chosen.name} experiment")
        raise UserError(f"{path}: field '{str(foreign[0])[:80]}': {hint}")
    exp = validate(chosen.spec, {**data, "kind": chosen.name}, str(path))
    exp._source = path
    exp.check_hosts(str(path))
    return exp


def experiment_json_schema() -> dict[str, Any]:
    """Any registered study's experiment file: one schema per study, `kind` telling them apart."""
    studies = list(all_studies().values())
    union: Any = Union[tuple(s.spec for s in studies)]  # noqa: UP007 - classes known only at run time
    schema = TypeAdapter(union).json_schema(mode="validation")
    for s in studies:  # a study's aliases are valid spellings of its kind in files (the loader maps them)
        kind = schema.get("$defs", {}).get(s.spec.__name__, {}).get("properties", {}).get("kind")
        if kind is not None and s.aliases:
            kind.pop("const", None)
            kind["enum"] = [s.name, *s.aliases]
    return schema


