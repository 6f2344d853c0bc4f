"""`debatelab export`: an experiment's debates and scores as JSONL (nested) or CSV (one row per score).

CSV cells that a spreadsheet would run as formulas are neutralised (`debatelab.base.csv_cells`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from debatelab.base import neutralise_cell
from debatelab.store.store import Store


def export_experiment(store: Store, experiment: str, fmt: str, target: Path) -> int:
    store.require_experiment(experiment)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        rows = store.score_export_rows(experiment)
        with target.open("w", newline="", encoding="utf-8") as fh:
            fields = list(rows[0]) if rows else ["debate_id", "criterion", "score"]
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows({k: neutralise_cell(v) for k, v in row.items()} for row in rows)
        return len(rows)
    debates = store.debates(experiment)
    with target.open("w", encoding="utf-8") as fh:
        for d in debates:
            d["verdict"] = json.loads(d["verdict"]) if d.get("verdict") else None
            d["turns"] = store.turns(d["debate_id"])
            d["judgments"] = store.judgments_of_debate(d["debate_id"], with_scores=True)
            fh.write(json.dumps(d, default=str) + "\n")
    return len(debates)
