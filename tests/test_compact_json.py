"""Judge prompt versions 3 and 4's compact JSON: their schemas carry llguidance's `x-guidance`, the embedded
endpoint compiles those with llguidance keeping what the schema means, and every other schema, or
one llguidance would not compile (or would compile only in part), goes to llama.cpp's own converter
as before."""

from __future__ import annotations

import json

from llguidance import LLMatcher

from debatelab.agents.embedded.engine import EngineRequest, openai_request
from debatelab.agents.embedded.grammar import closed_objects, llguidance_grammar
from debatelab.graphs.judging import (
    COMPACT_JSON,
    all_criteria_messages,
    all_criteria_schema,
    criterion_messages,
    criterion_schema,
)
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


def test_version_3_asks_for_compact_json_with_version_2s_messages():
    rubric = load_rubric("alignment-7")
    criterion = rubric.criteria[0].model_dump()
    assert criterion_messages("view", "n", rubric, criterion, "3") == criterion_messages("view", "n", rubric, criterion, "2")
    ids = [c.id for c in rubric.criteria][:3]
    for version in ("1", "2"):
        assert "x-guidance" not in criterion_schema(rubric, version).model_json_schema()
        assert "x-guidance" not in json.dumps(all_criteria_schema(rubric, ids, version).model_json_schema())
    assert criterion_schema(rubric, "3").model_json_schema()["x-guidance"] == COMPACT_JSON["x-guidance"]
    together = all_criteria_schema(rubric, ids, "3").model_json_schema()
    assert together["x-guidance"] == COMPACT_JSON["x-guidance"]  # at the top only: llguidance reads it there
    assert "x-guidance" not in json.dumps(together["$defs"])


def test_version_3s_schemas_compile_compact_and_keep_their_order_and_bounds():
    rubric = load_rubric("alignment-7")
    for schema in (criterion_schema(rubric, "3").model_json_schema(),
                   all_criteria_schema(rubric, [c.id for c in rubric.criteria][:3], "3").model_json_schema()):
        grammar = llguidance_grammar(schema)
        assert grammar is not None
        compiled = _schema_in(grammar)
        assert compiled["x-guidance"] == {"whitespace_flexible": False}
        assert list(compiled["properties"]) == list(schema["properties"])
    one = llguidance_grammar(criterion_schema(rubric, "3").model_json_schema())
    assert _accepts(one, '{"reasons":"Clear.","score":5}')
    assert not _accepts(one, '{ "reasons": "Clear.", "score": 5 }')  # no whitespace between tokens
    assert not _accepts(one, '{"reasons":"Clear.","score":9}')  # the scale's bounds hold
    assert not _accepts(one, '{"reasons":"Clear.","score":5,"extra":1}')  # no invented keys
    assert not _accepts(one, '{"score":5,"reasons":"Clear."}')  # reasons first, as the schema says
    assert not _accepts(one, '{"reasons":"' + "x" * 161 + '","score":5}')  # maxLength holds


def test_versions_2_and_3_ask_for_reasons_in_their_own_words():
    """Version 4's answer line is a template value; versions 2 and 3 must read as they always did."""
    rubric = load_rubric("alignment-7")
    system = criterion_messages("view", "n", rubric, rubric.criteria[0].model_dump(), "3")[0].content
    assert system.endswith('Answer as JSON with "reasons" (one sentence on the criterion asked about, and only that '
                           'one) and\nthen "score" (an integer from 1 to 7).\n')
    together = all_criteria_messages("view", "n", rubric)[1].content
    assert together.endswith("Score every criterion of the rubric, in the rubric's order. For each, give \"reasons\" "
                             "(one sentence on\nthat criterion only) and then \"score\" (an integer from 1 to 7).\n")


def test_version_4_asks_for_the_score_alone():
    rubric = load_rubric("alignment-7")
    criterion = rubric.criteria[0].model_dump()
    v3, v4 = (criterion_messages("view", "n", rubric, criterion, v) for v in ("3", "4"))
    assert v4[1] == v3[1]  # the same transcript and criterion line: only the answer asked for differs
    assert '"score" alone' in v4[0].content and '"reasons"' not in v4[0].content
    assert v4[0].content.split("Answer as JSON")[0] == v3[0].content.split("Answer as JSON")[0]
    schema = criterion_schema(rubric, "4").model_json_schema()
    assert list(schema["properties"]) == ["score"] and schema["x-guidance"] == COMPACT_JSON["x-guidance"]
    grammar = llguidance_grammar(schema)
    assert _accepts(grammar, '{"score":5}')
    assert not _accepts(grammar, '{"reasons":"Clear.","score":5}')  # no room for reasons
    assert not _accepts(grammar, '{"score":8}')
    ids = [c.id for c in rubric.criteria][:2]
    together = all_criteria_schema(rubric, ids, "4").model_json_schema()
    assert list(together["$defs"]["CriterionJudgment"]["properties"]) == ["score"]
    answer = json.dumps({ids[0]: {"score": 1}, ids[1]: {"score": 7}}, separators=(",", ":"))
    assert _accepts(llguidance_grammar(together), answer)
    assert '"score" alone' in all_criteria_messages("view", "n", rubric, "4")[1].content


def test_a_schema_llguidance_refuses_or_converts_in_part_goes_the_old_way():
    for bad in ({"type": "integer", "minimum": 5, "maximum": 1}, {"type": "objectx"},
                {"type": "string", "format": "no-such-format"}):
        schema = {**bad, **COMPACT_JSON}
        assert llguidance_grammar(schema) is None
        body = openai_request(EngineRequest(messages=[{"role": "user", "content": "hi"}], json_schema=schema))
        assert "grammar" not in body and body["response_format"]["json_schema"]["schema"] == schema


def test_only_a_schema_with_llguidance_options_gets_the_llguidance_grammar():
    schema = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 7}},
              "required": ["score"]}
    plain = openai_request(EngineRequest(messages=[{"role": "user", "content": "hi"}], json_schema=schema))
    assert "grammar" not in plain and plain["response_format"]["json_schema"]["schema"] == schema
    compact = openai_request(EngineRequest(messages=[{"role": "user", "content": "hi"}],
                                           json_schema={**schema, **COMPACT_JSON}))
    assert "response_format" not in compact and _schema_in(compact["grammar"])["additionalProperties"] is False
    flexible = llguidance_grammar({**schema, "x-guidance": {"whitespace_flexible": True}})
    assert flexible is not None and _schema_in(flexible)["x-guidance"] == {"whitespace_flexible": True}
