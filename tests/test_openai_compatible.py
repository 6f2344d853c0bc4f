"""Every model through an OpenAI-compatible /v1 server (the embedded endpoint's), end to end.

One `debatelab run` of a debates experiment (a single-model baseline and an adversarial ensemble,
judged absolutely and pairwise, with a judge audit) and one `kind: questions` run (debate on
labelled questions), every agent and judge a `provider: openai` spec or the short form
`openai:TAG@URL`, the key read from an environment variable. Afterwards: every request took the
/v1 route, structured calls went out as JSON-schema `response_format`, the results are there, and
the key is in no file the runs wrote (database, checkpoints, traces, logs, reports, exports).

The server is the embedded endpoint over its simulated engine (seeded words, valid JSON for
structured calls): its /v1 routes are the real ones, and what is tested is every phase's path
through them, which the model's words do not change. The real SmolLM2 answers /v1 in
tests/test_embedded_endpoint.py (the official openai client, plain, streamed and structured) and
in ../shared/checks/ecosystem.sh.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import read_log, run_cli

KEY = "sk-test-1b7e55d0-never-store-me"


def _openai(base: str, **options: object) -> dict:
    return {"model": "smollm2:135m", "provider": "openai", "base_url": base, "api_key_env": "DL_TEST_KEY", **options}


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _files_with(root: Path, needle: str) -> list[Path]:
    found = []
    for f in root.rglob("*"):
        if f.is_file() and needle.encode() in f.read_bytes():
            found.append(f)
    return found


def test_debates_judging_pairwise_audit_and_questions_all_through_v1(simulated_env, tmp_path: Path) -> None:
    url, log = simulated_env
    base = f"{url}/v1"
    before = len(read_log(log))
    env = {"DL_TEST_KEY": KEY}
    single = _write(tmp_path / "oa-single.yaml", {
        "name": "oa-single", "topology": "single", "rounds": 1,
        "model": _openai(base, temperature=0.7, seed=11, num_predict=40)})
    adversarial = _write(tmp_path / "oa-adversarial.yaml", {
        "name": "oa-adversarial", "topology": "adversarial", "rounds": 1, "agents": {
            "proponent": {"role": "debater", "stance": "pro", "model": _openai(base, seed=1, num_predict=40)},
            "opponent": {"role": "debater", "stance": "con", "model": _openai(base, seed=2, num_predict=40)},
            "judge": {"role": "aggregator", "model": _openai(base, seed=3, num_predict=60)}}})
    answerers = _write(tmp_path / "oa-answerers.yaml", {
        "name": "oa-answerers", "topology": "weighted", "rounds": 1, "agents": {
            name: {"role": "answerer", "model": _openai(base, temperature=t, seed=s)}
            for name, t, s in (("a", 0.2, 21), ("b", 0.9, 22))}})
    debates = _write(tmp_path / "oa-debates.yaml", {
        "name": "oa-debates", "scenarios": {"set": "alignment-v1", "ids": ["tr-terminal-diagnosis"]},
        "baselines": [str(single)], "configurations": [str(adversarial)],
        "judging": {"rubric": "paper-2025", "judges": [_openai(base)], "permute": False, "pairwise": True,
                    "criteria_at_once": "all", "audit": {"set": "factual-summary-pairs", "n": 1}},
        "concurrency": {"default": 2}})
    questions = _write(tmp_path / "oa-questions.yaml", {
        "name": "oa-questions", "kind": "questions", "judging": None,
        "questions": {"set": "openbookqa", "n": 2, "seed": 0},
        "debate": {"agents": str(answerers), "rounds": 1}, "concurrency": {"default": 2}})
    db, cp = tmp_path / "results.db", tmp_path / "checkpoints"
    for experiment in (debates, questions):
        proc = run_cli("run", str(experiment), "--db", str(db), "--checkpoints", str(cp), env=env, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    rows = read_log(log)[before:]
    assert rows and {r.get("route") for r in rows} == {"openai"}, {r.get("route") for r in rows}
    assert any(r.get("structured") for r in rows), "no JSON-schema response_format reached /v1"

    import debatelab.results as R

    with R.open(db) as r:
        d = r.debates("oa-debates")
        assert sorted(d.status) == ["finished", "finished"]
        assert set(r.turns("oa-debates").model) == {f"openai:smollm2:135m@{base}"}
        scores = r.scores("oa-debates")  # identity by tag, never the URL
        assert len(scores) == 2 * 5 and set(scores.judge) == {"smollm2:135m"}
        calls = r.model_calls("oa-debates")
        assert set(calls.model) == {"smollm2:135m"} and set(calls.host) == {base}
        pairwise = r.pairwise("oa-debates")  # one pair, both orders, five criteria and overall
        assert len(pairwise) == 2 * 6 and set(pairwise.ord) == {"ab", "ba"}
        assert len(r.audit_items()) == 2  # one labelled item, both orders
        answers = r.questions("oa-questions")
        assert set(answers.kind) == {"debate", "self_consistency", "cot"}
        assert len(answers[answers.kind == "debate"]) == 2 * 2 * 2  # questions x answerers x rounds 0 and 1
        assert answers.model.str.startswith("openai:smollm2:135m@").all()

    for args in (("report", "oa-debates"), ("export", "oa-debates", "--format", "parquet", "--out",
                                            str(tmp_path / "ds")), ("export", "oa-debates", "--out",
                                                                    str(tmp_path / "oa.jsonl"))):
        proc = run_cli(*args, "--db", str(db), env=env)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ds" / "README.md").exists() and (tmp_path / "oa.jsonl").stat().st_size > 0
    written = _files_with(tmp_path, KEY)
    assert written == [], f"the API key was written to {written}"
    assert _files_with(log.parent, KEY) == []
