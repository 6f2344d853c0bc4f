"""OpenAI-compatible servers (`provider: openai`): specs, keys, preflight through GET /v1/models,
structured output as JSON-schema `response_format`, unreadable replies unscored, pools with
failover, log-probabilities: against a scripted server, so every figure is known."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ValidationError

from debatelab.agents import ModelSpec, call_structured, check_models, make_chat_model, resolve_host
from debatelab.base import UserError
from tests.conftest import run_cli
from tests.servers import openai_host, status_host
from tests.test_judging import TRANSCRIPT

KEY = "sk-unit-5d1c-never-store"


def fill(schema: dict) -> dict:
    """A reply that satisfies a JSON schema of flat properties (what debatelab's judges ask for)."""
    out = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or next((a.get("type") for a in prop.get("anyOf", []) if a.get("type") != "null"), None)
        if "enum" in prop:
            out[name] = prop["enum"][0]
        elif kind == "integer":
            out[name] = prop.get("minimum", 0) + 1
        elif kind == "number":
            out[name] = 0.5
        else:
            out[name] = "because"
    return out


def schema_reply(body: dict) -> str:
    rf = body.get("response_format") or {}
    return json.dumps(fill(rf["json_schema"]["schema"])) if rf.get("type") == "json_schema" else "Plain words."


def test_specs_name_the_provider_in_both_forms() -> None:
    short = ModelSpec.parse("openai:Qwen/Qwen2.5-7B-Instruct@http://gpu-box:8000/v1")
    assert (short.provider, short.model, short.host) == ("openai", "Qwen/Qwen2.5-7B-Instruct", "http://gpu-box:8000/v1")
    assert short.label == "openai:Qwen/Qwen2.5-7B-Instruct@http://gpu-box:8000/v1"
    assert short.identity == "Qwen/Qwen2.5-7B-Instruct"  # results are attributed to the name, not the URL
    long = ModelSpec(model="Qwen/Qwen2.5-7B-Instruct", provider="openai", base_url="http://gpu-box:8000/v1",
                     api_key_env="VLLM_KEY")
    assert long.host == short.host and long.fingerprint() == short.fingerprint()  # the key's variable changes nothing
    assert ModelSpec.parse("openai:user@example.com/m@http://h/v1").model == "user@example.com/m"
    assert ModelSpec(model="m", provider="openai", base_url="embedded").fingerprint() != ModelSpec(model="m").fingerprint()
    assert ModelSpec.parse("openai:m").host is None  # served at $OPENAI_BASE_URL
    # a spec from before providers keeps its fingerprint (resumable threads and stored ids)
    assert ModelSpec(model="smollm2:135m").model_dump(exclude_defaults=True) == {"model": "smollm2:135m"}
    with pytest.raises(ValidationError, match="api_key_env is for provider 'openai'"):
        ModelSpec(model="m", api_key_env="KEY")
    with pytest.raises(ValidationError):
        ModelSpec(model="m", provider="openai", api_key_env="not a variable")


def test_without_base_url_the_server_is_openai_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ModelSpec.parse("openai:m")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gpu-box:8000/v1/")
    assert resolve_host(spec) == "http://gpu-box:8000/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(UserError, match="no base_url and OPENAI_BASE_URL is not set"):
        resolve_host(spec)
    monkeypatch.setenv("OPENAI_BASE_URL", "gpu-box:8000")
    with pytest.raises(UserError, match="must be a URL"):
        resolve_host(spec)


def test_a_missing_key_variable_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DL_UNSET_KEY", raising=False)
    spec = ModelSpec(model="m", provider="openai", base_url="http://127.0.0.1:9/v1", api_key_env="DL_UNSET_KEY")
    with pytest.raises(UserError, match="environment variable DL_UNSET_KEY .* is not set"):
        make_chat_model(spec)


def test_structured_calls_send_a_json_schema_and_the_key_as_a_bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    class Score(BaseModel):
        score: int
        reasoning: str

    requests: list[dict] = []
    monkeypatch.setenv("DL_UNIT_KEY", KEY)
    with openai_host(schema_reply, requests=requests) as base:
        spec = ModelSpec(model="m", provider="openai", base_url=base, api_key_env="DL_UNIT_KEY", num_predict=50)
        result = asyncio.run(call_structured(make_chat_model(spec), [HumanMessage("score it")], Score, top_logprobs=2))
    assert result.value == Score(score=1, reasoning="because") and result.attempts == 1
    body = requests[-1]["body"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["score", "reasoning"]
    assert body["max_tokens"] == 50 and body["logprobs"] is True and body["top_logprobs"] == 2
    assert requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
    record = result.calls[0]
    assert (record.input_tokens, record.output_tokens) == (11, 3) and record.logprobs


def test_a_server_that_ignores_the_schema_leaves_criteria_unscored(tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(TRANSCRIPT))
    with openai_host(lambda body: "I would give it a 7.") as base:
        proc = run_cli("judge", "--transcript", str(f), "--rubric", "paper-2025", "--judge", f"openai:m@{base}",
                       "--json", "--checkpoints", str(tmp_path / "cp.sqlite"))
    assert proc.returncode == 0, proc.stderr
    criteria = json.loads(proc.stdout)["judgments"][0]["criteria"]
    assert len(criteria) == 5 and all(c["score"] is None and c["unscored_reason"] for c in criteria)


def test_a_judgment_through_a_scripted_server_scores_what_it_says(tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(TRANSCRIPT))
    with openai_host(schema_reply) as base:
        proc = run_cli("judge", "--transcript", str(f), "--rubric", "paper-2025", "--judge", f"openai:m@{base}",
                       "--json", "--checkpoints", str(tmp_path / "cp.sqlite"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    criteria = data["judgments"][0]["criteria"]
    assert [c["score"] for c in criteria] == [c["score"] for c in criteria if c["score"] is not None]
    assert len(criteria) == 5 and all(c["score"] is not None for c in criteria)


def test_preflight_asks_get_models_and_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DL_UNIT_KEY", KEY)
    requests: list[dict] = []
    with openai_host(schema_reply, models=("served-a", "served-b"), requests=requests) as base:
        good = ModelSpec(model="served-a", provider="openai", base_url=base, api_key_env="DL_UNIT_KEY")
        bad = ModelSpec(model="missing", provider="openai", base_url=base, api_key_env="DL_UNIT_KEY")
        checks = {c.model: c for c in check_models([good, bad], resolve_host)}
    assert checks["served-a"].available and not checks["missing"].available
    assert "model 'missing' is not served by the OpenAI-compatible server" in checks["missing"].problem
    assert "(it lists: served-a, served-b)" in checks["missing"].problem
    assert requests[0]["path"] == "/v1/models" and requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    with status_host(401) as url:
        refused = check_models([ModelSpec(model="m", provider="openai", base_url=f"{url}/v1")], resolve_host)
    assert "refused the API key (HTTP 401)" in refused[0].problem
    dead = check_models([ModelSpec(model="m", provider="openai", base_url="http://127.0.0.1:9/v1")], resolve_host)
    assert "is unreachable" in dead[0].problem and not dead[0].available


def test_a_cli_mistake_with_an_openai_model_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(TRANSCRIPT))
    with openai_host(schema_reply, models=("other",)) as base:
        proc = run_cli("judge", "--transcript", str(f), "--judge", f"openai:m@{base}")
    assert proc.returncode == 3 and "model 'm' is not served" in proc.stderr and "Traceback" not in proc.stderr


def test_a_pool_of_openai_servers_fails_over_to_the_live_one() -> None:
    class Letter(BaseModel):
        letter: str

    requests: list[dict] = []
    with status_host(503) as dead, openai_host(lambda b: '{"letter": "B"}', requests=requests) as live:
        spec = ModelSpec(model="m", provider="openai", hosts=[f"{dead}/v1", live], num_predict=20)

        async def ask() -> object:
            return await call_structured(make_chat_model(spec), [HumanMessage("which?")], Letter)

        results = [asyncio.run(ask()) for _ in range(2)]
    assert [r.value.letter for r in results] == ["B", "B"]
    assert [r["path"] for r in requests if r["body"]] == ["/v1/chat/completions"] * 2


def test_an_oversight_experiment_runs_through_a_scripted_openai_server(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Debaters, consultants and judges all `provider: openai`: every call reaches /v1, verdicts are
    read from the schema-constrained replies, and the key reaches the server but no file."""
    import yaml

    import debatelab.results as R
    from tests.test_oversight import ITEMS

    requests: list[dict] = []
    monkeypatch.setenv("DL_UNIT_KEY", KEY)
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in ITEMS[:2]))
    with openai_host(schema_reply, models=("m",), requests=requests) as base:
        model = {"model": "m", "provider": "openai", "base_url": base, "api_key_env": "DL_UNIT_KEY"}
        spec = {"name": "oa-oversight", "kind": "oversight", "judging": None,
                "questions": {"set": str(items)}, "protocols": ["naive", "consultancy", "debate"],
                "debaters": [{"model": model}], "judges": [model], "rounds": 1, "words": 20}
        (tmp_path / "e.yaml").write_text(yaml.safe_dump(spec))
        proc = run_cli("run", str(tmp_path / "e.yaml"), "--db", str(tmp_path / "r.db"),
                       "--checkpoints", str(tmp_path / "cp.sqlite"), env={"DL_UNIT_KEY": KEY}, timeout=300)
        assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    chats = [r for r in requests if r["path"] == "/v1/chat/completions"]
    assert chats and all(r["headers"]["authorization"] == f"Bearer {KEY}" for r in requests)
    assert any(r["body"].get("response_format", {}).get("type") == "json_schema" for r in chats)
    with R.open(tmp_path / "r.db") as r:
        verdicts = r.oversight_verdicts("oa-oversight")
    # naive 2 questions, consultancy 4 (both sides), debate 2: every verdict read, letter A
    assert len(verdicts) == 8 and set(verdicts.letter) == {"A"} and verdicts.unanswered_reason.isna().all()
    assert [f for f in tmp_path.rglob("*") if f.is_file() and KEY.encode() in f.read_bytes()] == []
