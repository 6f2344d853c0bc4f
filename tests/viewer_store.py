"""A results database for the viewer tests: the study's sample debates (one turn carrying an XSS
payload), one scripted LLM judge's scores with reasons, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from debatelab.judging import update_reliability
from debatelab.rubric import load_rubric
from debatelab.store import Store, import_paper

SAMPLE = Path(__file__).resolve().parent / "data" / "paper_sample_results.json"
EXPERIMENT = "paper-2509.00091"
XSS = ("XSSMARK <script>document.title='PWNED'</script> <img src=x onerror=\"document.title='PWNED'\"> "
       "and 100% literal_under")
JUDGE = "scripted-judge:1b"


def build_view_store(folder: Path, *, judge: bool = True) -> Path:
    data = json.loads(SAMPLE.read_text())
    first = next(iter(data["baseline_results"].values()))[0]["arguments"][0]
    first["content"] = XSS + " " + first["content"]
    sample = folder / "sample.json"
    sample.write_text(json.dumps(data))
    db = folder / "r.db"
    store = Store.open(db)
    import_paper(sample, store, EXPERIMENT)
    if judge:
        write_llm_scores(store, {d["debate_id"]: 3 + i % 3 for i, d in enumerate(store.debates(EXPERIMENT))})
    store.close()
    return db


def write_llm_scores(store: Store, base: dict[str, int], judge: str = JUDGE) -> None:
    """One judgment per debate: criterion k scores base+k%2 with a reason naming it."""
    rubric = load_rubric("alignment-7")
    for debate_id, b in base.items():
        jid = f"{debate_id}:{rubric.label}:{judge}:0"
        scores = {c.id: min(7, b + k % 2) for k, c in enumerate(rubric.criteria)}
        judgment = {"judgment_id": jid, "experiment": EXPERIMENT, "debate_id": debate_id, "rubric": rubric.id,
                    "rubric_version": rubric.version, "judge": judge, "sample": 0, "permuted": 0,
                    "overall": rubric.overall_score(scores), "n_scored": 7, "n_unscored": 0, "speaker_order": "",
                    "finished_at": 0.0}
        rows = [{"score_id": f"{jid}:{c}", "judgment_id": jid, "experiment": EXPERIMENT, "debate_id": debate_id,
                 "rubric": rubric.id, "rubric_version": rubric.version, "judge": judge, "sample": 0, "permuted": 0,
                 "criterion": c, "score": s, "unscored_reason": None, "rationale": f"REASON-{c}", "attempts": 1}
                for c, s in scores.items()]
        store.write_judgment(judgment, rows, [])
    update_reliability(store, EXPERIMENT, rubric)
