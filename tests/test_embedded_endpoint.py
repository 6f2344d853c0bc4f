"""Real round trips through ChatOllama and the ollama client against the embedded endpoint."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import ollama
import pytest
from langchain_ollama import ChatOllama
from pydantic import BaseModel, Field

from tests.conftest import read_log

pytestmark = pytest.mark.real_model


def chat(url: str, **kw) -> ChatOllama:
    return ChatOllama(model="smollm2:135m", base_url=url, num_predict=kw.pop("num_predict", 16),
                      temperature=0, num_ctx=2048, **kw)


def test_invoke_returns_text_and_usage(embedded):
    url, _ = embedded
    reply = chat(url).invoke("Say hello.")
    assert reply.content.strip()
    assert reply.usage_metadata["output_tokens"] > 0
    assert reply.usage_metadata["input_tokens"] > 0
    assert reply.response_metadata["done_reason"] in ("stop", "length")
    assert reply.response_metadata["eval_count"] == reply.usage_metadata["output_tokens"]


def test_stream_yields_several_chunks(embedded):
    url, _ = embedded
    chunks = list(chat(url).stream("Count to three."))
    assert len(chunks) > 1
    text = "".join(c.content for c in chunks)
    assert text.strip()


def test_ainvoke(embedded):
    url, _ = embedded
    reply = asyncio.run(chat(url).ainvoke("Name a colour."))
    assert reply.content.strip()
    assert reply.usage_metadata["output_tokens"] > 0


def test_length_limit_reports_done_reason_length(embedded):
    url, _ = embedded
    reply = chat(url, num_predict=3).invoke("Write a long story about a dragon.")
    assert reply.response_metadata["done_reason"] == "length"
    assert reply.usage_metadata["output_tokens"] == 3


class Rating(BaseModel):
    reason: str = Field(max_length=120)
    score: int = Field(ge=1, le=7)


def test_structured_output_json_schema(embedded):
    url, _ = embedded
    judge = chat(url, num_predict=200)
    rating = judge.with_structured_output(Rating, method="json_schema").invoke(
        "Rate from 1 to 7 how polite 'thank you' is."
    )
    assert isinstance(rating, Rating)
    assert 1 <= rating.score <= 7


def test_a_schema_with_llguidance_options_is_answered_as_compact_json_with_only_its_keys(embedded):
    """Judge prompt version 3's schemas carry `x-guidance: {whitespace_flexible: false}`: the answer
    has one spelling (agents/embedded/grammar.py): no whitespace between tokens, no keys the schema
    does not name, the schema's order. Schemas without it keep llama.cpp's own grammar."""
    url, _ = embedded
    schema = {**Rating.model_json_schema(), "x-guidance": {"whitespace_flexible": False}}
    for prompt in ("Rate from 1 to 7 how polite 'thank you' is.", "Rate the weather today, in JSON."):
        r = httpx.post(f"{url}/api/chat", json={"model": "smollm2:135m", "stream": False, "format": schema,
                                                "messages": [{"role": "user", "content": prompt}],
                                                "options": {"temperature": 0, "num_predict": 120}}, timeout=60)
        text = r.json()["message"]["content"]
        value = json.loads(text)
        assert list(value) == ["reason", "score"]
        assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_ollama_client_list_and_show(embedded):
    url, _ = embedded
    client = ollama.Client(host=url)
    names = [m.model for m in client.list().models]
    assert "smollm2:135m" in names and "smollm2:135m-q4_1" in names
    shown = client.show("smollm2:135m")
    assert shown.details.quantization_level == "Q8_0"  # the published Q4_1 re-encoded (requantize.py)
    assert "completion" in shown.capabilities
    assert client.show("smollm2:135m-q4_1").details.quantization_level == "Q4_1"


def test_unknown_model_is_ollama_404(embedded):
    url, _ = embedded
    with pytest.raises(ollama.ResponseError) as info:
        ChatOllama(model="nope:1b", base_url=url).invoke("x")
    assert info.value.status_code == 404
    assert "nope:1b" in info.value.error


def test_invalid_schema_is_400(embedded):
    url, _ = embedded
    r = httpx.post(f"{url}/api/chat", json={"model": "smollm2:135m", "stream": False,
                                            "messages": [{"role": "user", "content": "hi"}],
                                            "format": {"type": "objectx"}}, timeout=30)
    assert r.status_code == 400
    assert "schema" in r.json()["error"]


def test_malformed_request_is_400(embedded):
    url, _ = embedded
    r = httpx.post(f"{url}/api/chat", content=b"{not json", timeout=10)
    assert r.status_code == 400 and "error" in r.json()
    r = httpx.post(f"{url}/api/chat", json={"model": "smollm2:135m", "messages": "hi"}, timeout=10)
    assert r.status_code == 400


def test_version_root_and_tags(embedded):
    url, _ = embedded
    assert httpx.get(url).text == "Ollama is running"
    assert httpx.get(f"{url}/api/version").json()["version"]
    tags = httpx.get(f"{url}/api/tags").json()["models"]
    assert tags[0]["details"]["format"] == "gguf"


def test_four_concurrent_requests_complete_and_are_logged(embedded):
    url, log = embedded
    before = len(read_log(log))
    prompts = [f"Give one word about the number {i}." for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda p: chat(url, num_predict=8).invoke(p), prompts))
    assert all(r.content.strip() for r in replies)
    records = read_log(log)[before:]
    assert len(records) == 4
    assert all(r["status"] == 200 and r["output_tokens"] > 0 for r in records)
    assert {"time", "model", "messages_sha256", "request_sha256", "prompt_tokens", "duration_s"} <= set(records[0])
    json.dumps(records)


def test_logprobs_like_ollama_and_option_probabilities(embedded):
    """`logprobs`/`top_logprobs` come back in Ollama's shape, per chunk when streaming, and the
    answerer reads a distribution over the question's letters from them."""
    from debatelab.agents.roles import answer_question
    from debatelab.scenarios import Question

    url, _ = embedded
    reply = chat(url, num_predict=8).invoke("Say hello.", logprobs=True, top_logprobs=3)
    entries = reply.response_metadata["logprobs"]
    if reply.content.isascii():  # a multi-byte character may be split across tokens
        assert "".join(e["token"] for e in entries) == reply.content
    assert entries
    assert all(e["logprob"] <= 1e-6 and 1 <= len(e["top_logprobs"]) <= 3 for e in entries)
    chunks = list(chat(url, num_predict=8).stream("Say hello.", logprobs=True, top_logprobs=2))
    assert any(c.response_metadata.get("logprobs") for c in chunks)
    assert chat(url).invoke("Say hello.").response_metadata.get("logprobs") is None  # only when asked
    with pytest.raises(ollama.ResponseError, match="top_logprobs"):
        ollama.Client(host=url).chat(model="smollm2:135m", messages=[{"role": "user", "content": "hi"}],
                                     top_logprobs=99)

    # The letter is read where the answer writes it; on a few answers none of the top alternatives
    # there is a letter (the grammar forced it) and the answer then has no distribution. Three
    # easy questions: at least one must give one, and every one given must be a distribution.
    questions = [Question(id="fruit", question="Which of these is a fruit?", options=["a car", "an apple", "a stone"],
                          answer="B"),
                 Question(id="sky", question="What colour is a clear daytime sky?", options=["blue", "green"],
                          answer="A"),
                 Question(id="legs", question="How many legs does a dog have?", options=["two", "six", "four"],
                          answer="C")]
    records = [asyncio.run(answer_question(chat(url, num_predict=120), q, top_logprobs=20)) for q in questions]
    assert all(r.letter in q.letters for r, q in zip(records, questions, strict=True))
    given = [(r, q) for r, q in zip(records, questions, strict=True) if r.option_probs is not None]
    assert given, [r.reason for r in records]
    for rec, q in given:
        assert set(rec.option_probs) == set(q.letters)
        assert sum(rec.option_probs.values()) == pytest.approx(1.0)
        assert 0 < rec.option_mass <= 1


def test_the_official_openai_client_plain_and_streamed(embedded):
    """/v1/chat/completions as OpenAI-client tools use it: a reply with usage, a stream of deltas, and
    a reply held to a JSON schema."""
    from openai import OpenAI

    url, log = embedded
    client = OpenAI(base_url=f"{url}/v1", api_key="not-checked", max_retries=0)
    reply = client.chat.completions.create(model="smollm2:135m", max_tokens=8, temperature=0,
                                           messages=[{"role": "user", "content": "Say hello."}])
    assert reply.choices[0].message.content.strip() and reply.usage.completion_tokens > 0
    assert reply.choices[0].finish_reason in ("stop", "length")
    pieces, finish = [], None
    for chunk in client.chat.completions.create(model="smollm2:135m", max_tokens=8, temperature=0, stream=True,
                                                messages=[{"role": "user", "content": "Count to three."}]):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces).strip() and len([p for p in pieces if p]) > 1 and finish in ("stop", "length")
    # Structured, as debatelab's judges ask through ChatOpenAI: a JSON-schema response_format, which
    # llama.cpp turns into a grammar, so the reply parses and obeys the schema.
    schema = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
              "required": ["score"], "additionalProperties": False}
    scored = client.chat.completions.create(
        model="smollm2:135m", max_tokens=20, temperature=0,
        messages=[{"role": "user", "content": "Rate the word 'hello' for friendliness from 1 to 5."}],
        response_format={"type": "json_schema", "json_schema": {"name": "rating", "schema": schema, "strict": True}})
    assert 1 <= json.loads(scored.choices[0].message.content)["score"] <= 5
    rows = read_log(log)[-3:]
    assert [r["route"] for r in rows] == ["openai", "openai", "openai"] and rows[-1].get("structured")


def test_llama_cpp_itself_stops_a_generation_whose_client_left(tmp_path):
    """On a one-slot real endpoint, a client asks for 2,000 tokens and hangs up after the first few:
    llama.cpp stops the generation (the log shows it ended after a few tokens, far short of its
    limit) and the one slot serves the next request. Judged by token counts, not by a clock."""
    import socket
    import time

    from debatelab.agents.embedded import EmbeddedEndpoint

    log = tmp_path / "calls.jsonl"
    with EmbeddedEndpoint(parallel=1, request_log=log) as url:
        body = json.dumps({"model": "smollm2:135m", "stream": True, "options": {"num_predict": 2000, "temperature": 0.8},
                           "messages": [{"role": "user", "content": "Tell a very long story about a lighthouse."}]})
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as s:
            s.sendall(f"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
            received = b""
            while received.count(b'"done": false') + received.count(b'"done":false') < 3:
                chunk = s.recv(4096)  # the first streamed tokens have arrived: the generation runs
                assert chunk, "the endpoint closed the stream before generating"
                received += chunk
        after = chat(url, num_predict=5).invoke("Say hello.")  # served by the same, only slot
        assert after.content.strip()
        for _ in range(100):  # the cancelled request is logged when its handler returns
            rows = read_log(log)
            if len(rows) >= 2:
                break
            time.sleep(0.05)
    cancelled = next(r for r in rows if r.get("status") == 499)
    assert 0 < cancelled["output_tokens"] < 200, cancelled  # stopped by llama.cpp, far short of 2,000
    assert sorted(r["status"] for r in rows) == [200, 499]
