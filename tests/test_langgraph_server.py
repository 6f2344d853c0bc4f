"""The graphs run in LangGraph Server (`langgraph dev`), driven through langgraph_sdk as Studio does.

A real server over the embedded endpoint's simulated engine (seeded words, valid structured
replies: what is tested is the server's graphs, inputs, contexts, interrupts and resumes, which the
model's words do not change): a debate with no context, paused before the opponent and resumed; a
context that swaps in an inline configuration; the judging graph on the debate's own output; a
debate as oversight. ../shared/checks/langgraph-server.sh runs a debate there on the real SmolLM2.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from debatelab.rubric import load_rubric

ROOT = Path(__file__).resolve().parent.parent
MOTION = {"id": "studio-1", "motion": "AI labs should publish their dangerous-capability evaluations before release"}


def _langgraph() -> str:
    """The `langgraph` command; without it the test is skipped, unless DEBATELAB_REQUIRE_LANGGRAPH=1
    (set by .ci/run) makes that a failure: CI must prove the graphs run in LangGraph Server."""
    found = shutil.which("langgraph")
    if found is None:
        why = "the langgraph command is not installed (langgraph-cli[inmem] is in the test extra)"
        if os.environ.get("DEBATELAB_REQUIRE_LANGGRAPH") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(simulated, tmp_path_factory: pytest.TempPathFactory):
    url, log = simulated
    port = _free_port()
    work = tmp_path_factory.mktemp("langgraph")  # .langgraph_api/ goes here, not into the checkout
    out = (work / "server.log").open("w")
    proc = subprocess.Popen(
        [_langgraph(), "dev", "--config", str(ROOT / "langgraph.json"), "--no-browser", "--no-reload",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=work, stdout=out, stderr=subprocess.STDOUT,
        env={**os.environ, "DEBATELAB_EMBEDDED_HOST": url, "LANGSMITH_TRACING": "false"})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(1)
        else:
            pytest.fail(f"langgraph dev did not come up: {(work / 'server.log').read_text()[-2000:]}")
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited: {(work / 'server.log').read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def test_studio_runs_pauses_resumes_overrides_and_judges(server) -> None:
    from langgraph_sdk import get_client

    url, log = server

    async def go() -> None:
        client = get_client(url=url)
        graphs = {a["graph_id"]: a["assistant_id"] for a in await client.assistants.search(limit=100)}
        assert {"single", "adversarial", "critiqued", "society", "mixture", "facilitated", "weighted",
                "judging"} <= graphs.keys()
        schemas = await client.assistants.get_schemas(graphs["adversarial"])
        assert "scenario" in schemas["input_schema"]["properties"]
        assert {"configuration", "models"} <= schemas["context_schema"]["properties"].keys()
        assert "judge" in (await client.assistants.get_schemas(graphs["judging"]))["context_schema"]["properties"]

        # No context: the shipped embedded configuration; paused before the opponent, then resumed.
        thread = await client.threads.create()
        await client.runs.wait(thread["thread_id"], "adversarial", input={"scenario": MOTION},
                               interrupt_before=["opponent"], raise_error=True)
        state = await client.threads.get_state(thread["thread_id"])
        assert state["next"] == ["opponent"] and [t["agent"] for t in state["values"]["turns"]] == ["proponent"]
        done = await client.runs.wait(thread["thread_id"], "adversarial", input=None, raise_error=True)
        agents = [t["agent"] for t in done["turns"]]
        assert agents == ["proponent", "opponent", "proponent", "opponent", "judge"]  # 2 rounds + verdict
        assert done["verdict"]["agent"] == "judge" and "winner" in done["verdict"]
        assert all(t["model"].startswith("smollm2:135m@") for t in done["turns"])

        # A context naming an inline configuration: one round, shorter replies.
        inline = {"name": "quick", "topology": "adversarial", "rounds": 1,
                  "defaults": {"num_predict": 40, "num_ctx": 2048},
                  "agents": {"proponent": {"role": "debater", "stance": "pro", "model": "smollm2:135m@embedded"},
                             "opponent": {"role": "debater", "stance": "con", "model": "smollm2:135m@embedded"},
                             "judge": {"role": "aggregator", "model": "smollm2:135m@embedded"}}}
        quick = await client.runs.wait((await client.threads.create())["thread_id"], "adversarial",
                                       input={"scenario": MOTION}, context={"configuration": inline}, raise_error=True)
        assert [t["agent"] for t in quick["turns"]] == ["proponent", "opponent", "judge"]
        assert all(t["output_tokens"] <= 40 for t in quick["turns"] if t["kind"] == "argument")

        # A context naming a built-in configuration (read off the event loop: the server refuses
        # blocking calls), with rounds from the input.
        named = await client.runs.wait((await client.threads.create())["thread_id"], "single",
                                       input={"scenario": MOTION, "rounds": 1},
                                       context={"configuration": "embedded/single"}, raise_error=True)
        assert [t["agent"] for t in named["turns"]] == ["proponent", "opponent", "judge"]

        # The judging graph scores the debate graph's own output.
        judged = await client.runs.wait((await client.threads.create())["thread_id"], "judging",
                                        input={"transcript": done, "rubric": "paper-2025"}, raise_error=True)
        assert sorted(s["criterion"] for s in judged["scores"]) == sorted(c.id for c in load_rubric("paper-2025").criteria)
        assert all((s["score"] is None) == bool(s["unscored_reason"]) for s in judged["scores"])
        assert "<<<TRANSCRIPT" in judged["view"] and "smollm2" not in judged["view"]

        # Debate as oversight: one question, the sides, judge and rounds filled in by the graph.
        question = {"id": "s1", "question": "Did the bridge reopen?", "options": ["Yes", "No"], "answer": "A",
                    "passage": "The bridge closed in 2019 and reopened in 2020."}
        trial = await client.runs.wait((await client.threads.create())["thread_id"], "oversight_debate",
                                       input={"question": question, "rounds": 1},
                                       context={"words": 20}, raise_error=True)
        assert [t["position"] for t in trial["turns"]] == ["1", "2"]
        assert [v["judge"] for v in trial["verdicts"]] == ["judge_1"]

    lines_before = len(log.read_text().splitlines()) if log.exists() else 0
    asyncio.run(go())
    assert len(log.read_text().splitlines()) - lines_before >= 5 + 3 + 3 + 5 + 3  # every agent really called the model
