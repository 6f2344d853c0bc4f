"""A JSON schema that names llguidance's options, compiled by llguidance with them.

Why: llama.cpp turns a `response_format` JSON schema into a grammar that allows up to two newlines
and twenty spaces around every brace, key, colon and value, and SmolLM2 takes them: a judge's
answer to one criterion reads `{\\n\\n"reasons"\\n\\n:\\n\\n"...","score"\\n\\n:\\n\\n3\\n\\n}`. Each of
those newlines is an output token, and output tokens are what the demo spends most of its time on
(docs/explanations/performance.md). llguidance (the constrained-decoding library built into
xllamacpp's llama.cpp, and one of vLLM's) reads options from a schema's top-level `x-guidance`
keyword; with `whitespace_flexible: false` it allows one spelling, `{"reasons":"...","score":3}`.
Judge prompt version 3 asks for that (graphs/judging.py); a schema without `x-guidance` is served
exactly as before, because a different grammar makes a small judge say different things.

Two differences between llama.cpp's converter and llguidance are bridged here so that a schema
means what it meant:

- llama.cpp's converter closes an object with `properties` to further keys unless the schema says
  `additionalProperties`; llguidance follows JSON Schema and leaves it open (SmolLM2 then invents
  keys). `closed_objects` writes the `additionalProperties: false` llama.cpp implied.
- llama.cpp samples *unconstrained* when an llguidance grammar fails to compile (it logs and goes
  on), where its own converter reports an error. So the grammar is compiled here first with the
  `llguidance` package; a schema it refuses or converts only in part (its warnings) goes to
  llama.cpp's own converter as before, which reports it (a 400 from the endpoint) or serves it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

# Keywords whose value is a schema, a list of schemas, or a name -> schema map (JSON Schema 2020-12's
# applicators that llguidance supports); everything else is left as it is.
_SCHEMA_VALUED = ("items", "additionalProperties", "not", "contains", "if", "then", "else")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def closed_objects(schema: Any) -> Any:
    """A copy of `schema` in which every object schema with `properties` and no
    `additionalProperties` forbids further keys (llama.cpp's reading of such a schema)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: closed_objects(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [closed_objects(sub) for sub in value]
        elif key in _SCHEMA_VALUED:
            out[key] = closed_objects(value)
        else:
            out[key] = value
    if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def llguidance_grammar(schema: dict[str, Any]) -> str | None:
    """llama.cpp's `grammar` for a schema with llguidance options (`x-guidance`), or None: for a
    schema without them, or one llguidance refuses or would convert only in part (the caller then
    sends `response_format`, llama.cpp's own converter)."""
    if not isinstance(schema.get("x-guidance"), dict):
        return None
    return _llguidance_grammar(json.dumps(schema))  # key order kept: it is the properties' order


@functools.lru_cache(maxsize=256)
def _llguidance_grammar(schema_json: str) -> str | None:
    """Compiled once per schema: a judge sends the same schema for every criterion."""
    import xllamacpp  # the grammar text in the form the bundled llama.cpp reads
    from llguidance import LLMatcher

    grammar = xllamacpp.json_schema_to_grammar(json.dumps(closed_objects(json.loads(schema_json))))
    if not grammar.startswith("%llguidance"):  # a llama.cpp built without llguidance: its own converter
        return None
    failed, warnings = LLMatcher.validate_grammar_with_warnings(grammar)
    return None if failed or warnings else grammar
