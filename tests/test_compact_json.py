"""The embedded endpoint's compact-JSON grammar: what a schema means is kept, and a schema llguidance
would not compile (or would compile only in part) goes to llama.cpp's own converter as before."""

from __future__ import annotations

import json

from llguidance import LLMatcher

from debatelab.agents.embedded.engine import EngineRequest, openai_request
from debatelab.agents.embedded.grammar import closed_objects, compact_json_grammar
from debatelab.graphs.judging import all_criteria_schema, criterion_schema
from debatelab.rubric import load_rubric


def _schema_in(grammar: str) -> dict:
    head, _, body = grammar.partition("start: %json ")
    assert head.startswith("%llguidance")
    return json.loads(body)


def _accepts(grammar: str, text: str) -> bool:
    """Whether llguidance's own parser takes `text` whole (checked byte by byte, no tokenizer)."""
    import llguidance

    tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteTokenizer()))
    matcher = LLMatcher(tokenizer, grammar)
    ok = matcher.consume_tokens(list(text.encode()))
    return ok and matcher.is_accepting()


class _ByteTokenizer:
    """One token per byte, plus an end-of-sequence token: enough to run a matcher over a string."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([b]) for b in range(256)] + [b"<eos>"]

    def __call__(self, s: str) -> list[int]:
        return list(s.encode())


def test_objects_with_properties_are_closed_as_llama_cpp_reads_them():
    schema = {"type": "object", "properties": {
        "a": {"type": "object", "properties": {"x": {"type": "integer"}}},
        "b": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        "properties": {"type": "string"},  # a field named like the keyword is a field, not a keyword
        "open": {"type": "object", "properties": {"y": {"type": "string"}}, "additionalProperties": True},
    }, "$defs": {"Item": {"type": "object", "properties": {"z": {"type": "number"}}}},
        "anyOf": [{"type": "object", "properties": {"q": {"type": "string"}}}]}
    closed = closed_objects(schema)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["a"]["additionalProperties"] is False
    assert closed["$defs"]["Item"]["additionalProperties"] is False
    assert closed["anyOf"][0]["additionalProperties"] is False
    assert closed["properties"]["open"]["additionalProperties"] is True  # the schema's own word stands
    assert closed["properties"]["properties"] == {"type": "string"}
    assert list(closed["properties"]) == list(schema["properties"])  # the properties' order is the output's
    assert "additionalProperties" not in schema  # the request's schema is not changed


def test_the_judges_schemas_compile_compact_and_keep_their_order_and_bounds():
    rubric = load_rubric("alignment-7")
    for schema in (criterion_schema(rubric, "2").model_json_schema(),
                   all_criteria_schema(rubric, [c.id for c in rubric.criteria][:3]).model_json_schema()):
        grammar = compact_json_grammar(schema)
        assert grammar is not None
        compiled = _schema_in(grammar)
        assert compiled["x-guidance"] == {"whitespace_flexible": False}
        assert list(compiled["properties"]) == list(schema["properties"])
    one = compact_json_grammar(criterion_schema(rubric, "2").model_json_schema())
    assert _accepts(one, '{"reasons":"Clear.","score":5}')
    assert not _accepts(one, '{ "reasons": "Clear.", "score": 5 }')  # no whitespace between tokens
    assert not _accepts(one, '{"reasons":"Clear.","score":9}')  # the scale's bounds hold
    assert not _accepts(one, '{"reasons":"Clear.","score":5,"extra":1}')  # no invented keys
    assert not _accepts(one, '{"score":5,"reasons":"Clear."}')  # reasons first, as the schema says
    assert not _accepts(one, '{"reasons":"' + "x" * 161 + '","score":5}')  # maxLength holds


def test_a_schema_llguidance_refuses_or_converts_in_part_goes_the_old_way():
    assert compact_json_grammar({"type": "integer", "minimum": 5, "maximum": 1}) is None
    assert compact_json_grammar({"type": "objectx"}) is None
    assert compact_json_grammar({"type": "string", "format": "no-such-format"}) is None
    body = openai_request(EngineRequest(messages=[{"role": "user", "content": "hi"}],
                                        json_schema={"type": "objectx"}), compact_json=True)
    assert "grammar" not in body and body["response_format"]["json_schema"]["schema"] == {"type": "objectx"}


def test_the_request_body_carries_the_compact_grammar_unless_it_is_switched_off():
    schema = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 7}},
              "required": ["score"]}
    request = EngineRequest(messages=[{"role": "user", "content": "hi"}], json_schema=schema)
    compact = openai_request(request, compact_json=True)
    assert "response_format" not in compact and _schema_in(compact["grammar"])["additionalProperties"] is False
    flexible = openai_request(request, compact_json=False)
    assert "grammar" not in flexible and flexible["response_format"]["json_schema"]["schema"] == schema


def test_a_schemas_own_llguidance_options_are_kept():
    schema = {"type": "object", "properties": {"a": {"type": "string"}},
              "x-guidance": {"whitespace_flexible": True}}
    grammar = compact_json_grammar(schema)
    assert grammar is not None and _schema_in(grammar)["x-guidance"] == {"whitespace_flexible": True}
