"""A local judge on the released NYU debates, beside the human judges: what it reads (the protocol's
view: question, answers, speeches with verified quotes, never the story), what is stored, that a
re-run calls nothing, and the agreement figures on rows whose values are known."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.analysis.judge_agreement import MIN_PAIRED, cohen_kappa, judge_agreement, pearson
from debatelab.base import UserError
from debatelab.experiments import import_michael2023, judge_stored_transcripts
from debatelab.scenarios import metadata_file
from debatelab.store import Store
from tests.conftest import run_cli
from tests.test_field_data import FIXTURES


def imported(tmp: Path) -> Path:
    folder = tmp / "pub"
    shutil.copytree(FIXTURES, folder)
    shutil.copy(metadata_file(None), folder / "debates-metadata.jsonl")
    with Store.open(tmp / "m.db") as store:
        import_michael2023(store, folder)
    return tmp / "m.db"


def test_the_local_judge_reads_what_the_human_judge_read_and_is_stored_beside_them(tmp_path):
    db = imported(tmp_path)
    prompts: list[str] = []

    def script(prompt: str, kwargs: dict) -> dict:
        prompts.append(prompt)
        return {"reasons": "the quotes support B", "answer": "B", "probability": 80}

    judge = ModelSpec(model="local-judge:1")
    with Store.open(db) as store:
        trial = store.oversight_trial("michael2023:ambition-8")
        story = json.loads(trial["question"])["passage"]
        done = asyncio.run(judge_stored_transcripts(store, "michael2023", [judge], preflight=False,
                                                    model_factory=lambda spec: ScriptedChatModel(script=script)))
        verdicts = {v["trial_id"]: v for v in store.oversight_verdicts("michael2023") if v["judge"] == "local-judge:1"}
        result = store.result("michael2023:oversight")
    assert [(d.chosen, d.judged_now) for d in done] == [(2, 2)] and len(prompts) == 2
    prompt = next(p for p in prompts if "They got along very well" in p)  # ambition-8's answer B
    discussion = prompt.split("The discussion:")[1]
    assert "<v_quote>" in discussion and "<u_quote>" not in discussion  # the story's own spans: all verified
    assert story[2000:2200] not in prompt and "Passage:" not in prompt  # the story is never shown
    assert "Consultant" in prompt  # ambition-8 is a consultancy: read as one
    v = verdicts["michael2023:ambition-8"]
    assert (v["letter"], v["probability"], v["truth"]) == ("B", 0.8, trial["truth"])
    rows = result["judge_agreement"]
    assert {r["judge"] for r in rows} == {"local-judge:1"} and all(r["too_few"] for r in rows)  # 1 trial each
    again = asyncio.run(_rerun(db, judge))
    assert [(d.judged_now, d.already) for d in again] == [(0, 2)]


async def _rerun(db: Path, judge: ModelSpec):
    def never(prompt, kwargs):
        raise AssertionError("a finished verdict was asked again")

    with Store.open(db) as store:
        return await judge_stored_transcripts(store, "michael2023", [judge], preflight=False,
                                              model_factory=lambda spec: ScriptedChatModel(script=never))


def test_an_import_without_transcripts_is_named(tmp_path):
    with Store.open(tmp_path / "m.db") as store:
        import_michael2023(store)
        with pytest.raises(UserError, match="no stored transcripts: import the released debate files"):
            asyncio.run(judge_stored_transcripts(store, "michael2023", [ModelSpec(model="j:1")], preflight=False))
    bad = run_cli("judge", "--experiment", "nothing", "--oversight", "--db", str(tmp_path / "m.db"))
    assert bad.returncode == 2 and "no experiment 'nothing'" in bad.stderr


def test_the_cli_judges_n_debates_on_the_simulated_engine(tmp_path, simulated_env):
    db = imported(tmp_path)
    done = run_cli("judge", "--experiment", "michael2023", "--oversight", "--n", "1", "--db", str(db),
                   "--judge", "smollm2:135m@embedded", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "smollm2:135m@embedded: 1 debate(s) judged now" in done.stdout
    again = run_cli("judge", "--experiment", "michael2023", "--oversight", "--n", "1", "--db", str(db),
                    "--judge", "smollm2:135m@embedded", "--json", timeout=300)
    assert json.loads(again.stdout)["judged"][0]["judged_now"] == 0


def _rows(spec: list[tuple[str, str, str, float, str, float]]) -> tuple[list[dict], dict]:
    """(story, truth, model letter, model p, person letter, person p) per trial."""
    trials, verdicts = {}, []
    for i, (story, truth, ml, mp, hl, hp) in enumerate(spec):
        tid = f"t{i}"
        trials[tid] = {"trial_id": tid, "protocol": "debate", "question_id": f"q{i}",
                       "question": json.dumps({"options": ["x", "y"], "passage": story})}
        for judge, letter, p in (("m", ml, mp), ("human:ann", hl, hp)):
            verdicts.append({"trial_id": tid, "judge": judge, "letter": letter, "probability": p, "truth": truth,
                             "correct": int(letter == truth)})
    return verdicts, trials


def test_agreement_figures_are_the_known_values():
    assert cohen_kappa([("A", "A"), ("B", "B"), ("A", "B"), ("B", "A")]) == 0.0  # chance agreement only
    assert cohen_kappa([("A", "A"), ("B", "B")] * 3) == 1.0
    assert pearson([0.1, 0.5, 0.9], [0.2, 0.6, 1.0]) == 1.0
    # 12 trials on 6 stories: the model right on 9, people on 12; they agree on the 9.
    spec = [(f"s{i // 2}", "A", "A" if i < 9 else "B", 0.9 if i < 9 else 0.6, "A", 0.8) for i in range(12)]
    verdicts, trials = _rows(spec)
    rows = {r["protocol"]: r for r in judge_agreement(verdicts, trials)}
    assert set(rows) == {"debate", "all"} and rows["all"]["n"] == rows["debate"]["n"]
    row = rows["debate"]
    assert (row["n"], row["stories"], row["accuracy"], row["human_accuracy"]) == (12, 6, 0.75, 1.0)
    assert row["difference"] == -0.25 and row["too_few"] is None
    assert row["kappa"] == 0.0  # people always said A: no agreement beyond chance is measurable
    assert row["correlation"] is None  # people's probability never varies
    small = judge_agreement(*_rows(spec[: MIN_PAIRED - 1]))
    assert small[0]["kappa"] is None and small[0]["too_few"].startswith("too few: 9 paired trials")
