"""`debatelab export`: an experiment's debates and scores as JSONL (nested) or CSV (one row per score)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from debatelab.store import Store


def export_experiment(store: Store, experiment: str, fmt: str, target: Path) -> int:
    store.require_experiment(experiment)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        rows = store.query(
            "select d.debate_id, d.config, d.kind, d.topology, d.scenario_id, d.category, d.repeat, "
            "s.rubric, s.rubric_version, s.judge, s.sample, s.permuted, s.criterion, s.score, s.unscored_reason "
            "from scores s join debates d on d.debate_id = s.debate_id where d.experiment = :e "
            "order by d.config, d.scenario_id, d.repeat, s.judge, s.sample, s.criterion", {"e": experiment})
        with target.open("w", newline="", encoding="utf-8") as fh:
            fields = list(rows[0]) if rows else ["debate_id", "criterion", "score"]
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        return len(rows)
    debates = store.query("select * from debates where experiment = :e order by config, scenario_id, repeat",
                          {"e": experiment})
    with target.open("w", encoding="utf-8") as fh:
        for d in debates:
            d["verdict"] = json.loads(d["verdict"]) if d.get("verdict") else None
            d["turns"] = store.query("select * from turns where debate_id = :d order by idx", {"d": d["debate_id"]})
            judgments = store.query("select * from judgments where debate_id = :d", {"d": d["debate_id"]})
            for j in judgments:
                j["scores"] = store.query("select criterion, score, unscored_reason, rationale, attempts from scores "
                                          "where judgment_id = :j", {"j": j["judgment_id"]})
            d["judgments"] = judgments
            fh.write(json.dumps(d, default=str) + "\n")
    return len(debates)
