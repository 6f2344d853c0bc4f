"""JSON Schema helpers for pydantic models whose YAML accepts a short form.

A model spec may be written `deepseek-r1:8b@http://gpu-box:11434` or as a mapping; a list field may
take one item alone. The models accept these through `mode="before"` validators, which pydantic's
schema generator cannot see, so the generated schema (for editors) would reject valid files. These
helpers state the short forms in the schema itself, beside the validators that accept them.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic_core import CoreSchema


def string_or_object_schema(core_schema: CoreSchema, handler: GetJsonSchemaHandler,
                            string_description: str) -> dict[str, Any]:
    """For a model's `__get_pydantic_json_schema__`: its definition becomes "a string or the object"."""
    schema = handler.resolve_ref_schema(handler(core_schema))
    as_object = dict(schema)
    schema.clear()
    schema.update({"title": as_object.get("title"), "description": as_object.pop("description", None),
                   "anyOf": [{"type": "string", "description": string_description}, as_object]})
    if schema["description"] is None:
        del schema["description"]
    return schema


def one_or_many(schema: dict[str, Any]) -> None:
    """For a list field's `json_schema_extra`: the field also takes one item alone."""
    items, min_items = schema.pop("items"), schema.pop("minItems", None)
    schema.pop("type", None)
    array: dict[str, Any] = {"type": "array", "items": items}
    if min_items is not None:
        array["minItems"] = min_items
    schema["anyOf"] = [array, dict(items)]
