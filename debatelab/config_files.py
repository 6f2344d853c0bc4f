"""Which model specs a configuration or experiment file needs (for `debatelab models --config`)."""

from __future__ import annotations

from pathlib import Path

from agents.model_spec import ModelSpec
from debatelab.yamlio import read_yaml


def _collect(node: object, found: list[ModelSpec], source: str) -> None:
    if isinstance(node, dict):
        model = node.get("model")
        if isinstance(model, dict):
            from debatelab.yamlio import validate

            found.append(validate(ModelSpec, model, source))
        elif isinstance(model, str) and ("host" in node or "@" in model or ":" in model):
            found.append(ModelSpec.parse(model) if "@" in model else ModelSpec(model=model, host=node.get("host")))
        for value in node.values():
            _collect(value, found, source)
    elif isinstance(node, list):
        for value in node:
            _collect(value, found, source)


def model_specs_in_file(path: Path) -> list[ModelSpec]:
    """Every model spec in a YAML configuration, deduplicated by (host, model)."""
    found: list[ModelSpec] = []
    _collect(read_yaml(path), found, str(path))
    unique: dict[tuple[str | None, str], ModelSpec] = {}
    for spec in found:
        unique.setdefault((spec.host, spec.model), spec)
    return list(unique.values())
