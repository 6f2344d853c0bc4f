"""Viewer pages on a 10,000-debate store (the synthetic store of the report bench, plus two human
raters on 200 debates): the time of every page through Starlette's TestClient, in process.

The experiment page computes bootstrap intervals and the judge-human agreement on its first visit
and caches them until the data change, so its first (cold) visit is reported apart from the
pages a researcher clicks through. Target: every page under 300 ms once warm.
"""

from __future__ import annotations

import csv
import re
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from bench.common import Figure
from bench.store_scale import CRITERIA, synthesise
from debatelab.judging import import_ratings
from debatelab.rubric import load_rubric
from debatelab.store import Store
from debatelab.view import create_app

TARGET_MS = 300


def _ratings(db: Path, path: Path, debates: int = 200) -> None:
    """Two raters who roughly follow judge0, so the agreement table has something to say."""
    store = Store.open(db)
    rubric = load_rubric("alignment-7")
    rows = sorted((r for r in store.table_rows("scores") if r["judge"] == "judge0"),
                  key=lambda r: r["debate_id"])[: debates * len(CRITERIA)]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["debate_id", "rater", "criterion", "score"])
        for i, r in enumerate(rows):
            w.writerow([r["debate_id"], "ann", r["criterion"], r["score"]])
            w.writerow([r["debate_id"], "bob", r["criterion"], max(1, min(7, r["score"] + (i % 3) - 1))])
    import_ratings(store, path, rubric)
    store.close()


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "scale.db"
        synthesise(db, 10_000, rubric_version=load_rubric("alignment-7").version)
        _ratings(db, tmp / "ratings.csv")
        client = TestClient(create_app(db), base_url="http://127.0.0.1")
        t0 = time.perf_counter()
        assert client.get("/experiments/scale").status_code == 200
        cold_ms = 1000 * (time.perf_counter() - t0)
        debate = "d004321"
        pages = {
            "overview": "/", "experiment": "/experiments/scale", "debates": "/debates?experiment=scale",
            "debates page 150": "/debates?experiment=scale&page=150", "filter config": "/debates?config=critiqued",
            "filter judge": "/debates?judge=judge1", "unscored only": "/debates?unscored=1",
            "text search (no match)": "/debates?q=zebra", "debate": f"/debates/{debate}",
            "compare": f"/compare?a={debate}&b=d004320", "rate": "/rate/scale?rater=cat&rubric=alignment-7",
        }
        times: dict[str, float] = {}
        for name, path in pages.items():
            runs = []
            for _ in range(3 if quick else 7):
                t0 = time.perf_counter()
                response = client.get(path)
                runs.append(1000 * (time.perf_counter() - t0))
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {re.sub('<[^>]+>', ' ', response.text)[-300:]}")
            times[name] = round(statistics.median(runs), 1)
        slowest = max(times, key=times.get)
    return [Figure("slowest viewer page, 10,000 debates (warm, median)", times[slowest], "ms", f"< {TARGET_MS} ms",
                   times[slowest] < TARGET_MS, {"pages_ms": times, "slowest": slowest,
                                                "experiment_page_cold_ms": round(cold_ms)},
                   "the experiment page's first visit computes its intervals and agreement (cold) and is cached after")]
