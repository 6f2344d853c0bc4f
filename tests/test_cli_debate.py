"""The debate CLI: a short real debate on the embedded model, and clear errors for bad input."""

from __future__ import annotations

import functools
import json

import pytest
import yaml

from tests.conftest import ROOT, run_cli

cli = functools.partial(run_cli, timeout=300)


@pytest.mark.real_model
def test_a_real_debate_gets_a_verdict_and_a_real_judge_scores_it(embedded_env, tmp_path):
    """The real path end to end on SmolLM2: a critiqued debate through the CLI whose aggregator's
    verdict parses (a winner, not None), then an alignment-7 judgment of its transcript in which at
    least one criterion is scored. An all-unscored judge or an unparsed verdict fails here."""
    url, _ = embedded_env
    cfg = yaml.safe_load((ROOT / "configs/embedded/critiqued.yaml").read_text())
    cfg["rounds"] = 1
    cfg["defaults"]["num_predict"] = 30
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {"DEBATELAB_EMBEDDED_HOST": url}
    proc = cli("debate", str(path), "tr-sycophancy-code-review", "--json", "--checkpoints", str(tmp_path / "cp.sqlite"),
               env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"debate_id", "config", "scenario", "turns", "verdict"} <= set(data)
    assert [t["agent"] for t in data["turns"]] == ["proponent", "opponent", "critic", "judge"]
    for t in data["turns"]:
        assert {"role", "agent", "model", "round", "text", "thinking", "input_tokens", "output_tokens",
                "duration_s"} <= set(t)
        assert t["model"] == "smollm2:135m@embedded" and t["output_tokens"] > 0
    assert data["verdict"]["winner"] in ("pro", "con", "tie"), data["verdict"]  # parsed, not None
    assert "round 1 · proponent" in proc.stderr  # live turns go to stderr with --json
    transcript = tmp_path / "t.json"
    transcript.write_text(proc.stdout)
    judged = cli("judge", "--transcript", str(transcript), "--rubric", "alignment-7", "--judge",
                 "smollm2:135m@embedded", "--json", "--checkpoints", str(tmp_path / "jcp.sqlite"), env=env)
    assert judged.returncode == 0, judged.stderr
    criteria = json.loads(judged.stdout)["judgments"][0]["criteria"]
    assert len(criteria) == 7
    assert all((c["score"] is not None and 1 <= c["score"] <= 7) or c["unscored_reason"] for c in criteria)
    assert sum(c["score"] is not None for c in criteria) >= 1, criteria


@pytest.mark.parametrize(
    "args, message",
    [
        (["debate", "configs/embedded/adversarial.yaml", "no-such-scenario"], "unknown scenario id 'no-such-scenario'"),
        (["debate", "configs/embedded/adversarial.yaml", "x", "--scenarios", "nope"], "unknown scenario set"),
        (["debate", "configs/missing.yaml", "x"], "file not found"),
        (["graph", "configs/examples/custom-loop.yaml.nope"], "file not found"),
        (["scenarios", "nope"], "unknown scenario set"),
    ],
)
def test_cli_errors_are_one_line(args, message):
    proc = cli(*args, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_cli_unknown_model_host(tmp_path):
    cfg = yaml.safe_load((ROOT / "configs/paper/lightweight.yaml").read_text())
    path = tmp_path / "l.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = cli("debate", str(path), "ubi-ai-unemployment", "--scenarios", "paper",
               env={"OLLAMA_HOST": "http://127.0.0.1:9"}, timeout=60)
    assert proc.returncode == 3
    assert "127.0.0.1:9" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_graph_prints_mermaid_for_custom():
    proc = cli("graph", "configs/examples/custom-loop.yaml", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "graph TD" in proc.stdout and "next_round" in proc.stdout


def test_cli_graph_writes_its_text_in_one_write(monkeypatch):
    """A reader that stops at its first match (`| grep -q` under pipefail, as CI's wheel smoke did)
    must not close the pipe between two writes of one answer: click turns that EPIPE into exit 1."""
    from debatelab.cli.debate import graph_cmd

    writes: list[str] = []

    class Recorder:
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr("sys.stdout", Recorder())
    graph_cmd("embedded/adversarial")
    assert len(writes) == 1 and writes[0].endswith("\n") and "proponent" in writes[0]


def test_cli_scenarios_lists_ids_first():
    proc = cli("scenarios", "paper", timeout=60)
    lines = proc.stdout.splitlines()
    assert len(lines) == 22 and lines[0].split("\t")[0] == "private-data-monitoring"
    assert sum(line.endswith("*") for line in lines) == 15
