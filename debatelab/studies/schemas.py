"""JSON Schema for configuration and experiment files, generated from the pydantic models.

Editors (VS Code's YAML extension, JetBrains, Neovim with yaml-language-server) complete and check
a YAML file whose first line names a schema: `# yaml-language-server: $schema=<path or URL>`. The
schema is generated from the same pydantic models that validate the file when debatelab loads it,
so it cannot drift from them (an experiment's holds one schema per registered study); the shipped
copies in `debatelab/configs/schemas/` are checked against a fresh generation by the tests
(`write_shipped_schemas()` rewrites them).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

from debatelab.graphs import DebateConfig
from debatelab.studies.loading import experiment_json_schema

SchemaName = Literal["config", "experiment"]
SCHEMA_NAMES: tuple[SchemaName, ...] = ("config", "experiment")
_TITLES = {"config": "debatelab debate configuration", "experiment": "debatelab experiment"}


def json_schema(name: SchemaName) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a configuration or an experiment file, as validated on load."""
    schema = DebateConfig.model_json_schema(mode="validation") if name == "config" else experiment_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": _TITLES[name], **{
        k: v for k, v in schema.items() if k != "title"}}


def schema_text(name: SchemaName) -> str:
    return json.dumps(json_schema(name), indent=2, sort_keys=False) + "\n"


def shipped_schema_file(name: SchemaName) -> str:
    """The file name of a shipped schema inside the `debatelab.configs` package (schemas/)."""
    return f"{name}.schema.json"


def shipped_schema_text(name: SchemaName) -> str:
    return (resources.files("debatelab.configs") / "schemas" / shipped_schema_file(name)).read_text("utf-8")


def write_shipped_schemas() -> list[str]:
    """Regenerate the shipped copies (after changing a model): the tests fail until they match."""
    folder = resources.files("debatelab.configs") / "schemas"
    written = []
    for schema in SCHEMA_NAMES:
        target = folder / shipped_schema_file(schema)
        target.write_text(schema_text(schema), encoding="utf-8")  # type: ignore[attr-defined]
        written.append(str(target))
    return written
