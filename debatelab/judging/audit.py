"""Judge audits: run a judge on labelled pairs in both presentation orders and say how far to trust it.

Every item is shown twice, (a, b) and (b, a). From the two verdicts:
- accuracy: correct choices among scored presentations, with a Wilson 95% interval (scipy);
- position consistency: items whose two verdicts pick the same response;
- first-position win rate: how often the response shown first wins (0.5 for an unbiased judge);
- length bias: how often the longer response wins where the judge was wrong or inconsistent, and
  the slope of a logistic fit of "picked the first" on the length difference;
- self-preference: where an item names the models behind its responses, how often the judge
  picks its own model family's;
- n and unscored (a reply that cannot be read is unscored, never a choice).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from debatelab.agents import ModelSpec, affinity, family_of
from debatelab.analysis import wilson
from debatelab.graphs import compare
from debatelab.runtime import Failures, RunProgress
from debatelab.scenarios import LabelledPair, PairSet
from debatelab.store import Store, iso_timestamp

ORDERS = ("ab", "ba")


def audit_id_for(judge: ModelSpec, pairs: PairSet) -> str:
    """An audit is the judge's (by tag) on exactly these items: keyed by their content, so another
    file of the same name, or a file whose labels were corrected, is another audit."""
    return f"{judge.model}|{pairs.name}|{pairs.content_key}"


def logistic_slope(x: list[float], y: list[int]) -> float | None:
    """Slope of P(y=1) = sigmoid(b0 + b1 x), fitted by maximum likelihood (None when undefined)."""
    if len(x) < 4 or len(set(y)) < 2 or len(set(x)) < 2:
        return None
    from scipy import optimize  # only when there is a slope to fit: importing scipy costs ~1.5 s
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def nll(b: np.ndarray) -> float:
        z = b[0] + b[1] * xs
        return float(np.sum(np.logaddexp(0.0, z) - ys * z))

    fit = optimize.minimize(nll, np.zeros(2), method="BFGS")
    slope = float(fit.x[1])
    return round(slope, 4) if math.isfinite(slope) and abs(slope) < 1e6 else None


def audit_metrics(rows: list[dict[str, Any]], judge_family: str | None = None) -> dict[str, Any]:
    """The audit's figures from its stored presentations (one row per item and order)."""
    by_item: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        by_item[r["item_id"]][r["ord"]] = r
    scored = [r for r in rows if r["chosen"] in ("a", "b")]
    correct = sum(r["chosen"] == r["label"] for r in scored)
    low, high = wilson(correct, len(scored))
    categories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scored:
        categories[r["category"] or "(none)"].append(r)
    by_category = {c: {"n": len(rs), "accuracy": round(sum(r["chosen"] == r["label"] for r in rs) / len(rs), 4),
                       "ci95": wilson(sum(r["chosen"] == r["label"] for r in rs), len(rs))}
                   for c, rs in sorted(categories.items())}
    both = [o for o in by_item.values() if all(o.get(k, {}).get("chosen") in ("a", "b") for k in ORDERS)]
    consistent = [o for o in both if o["ab"]["chosen"] == o["ba"]["chosen"]]
    inconsistent_items = {o["ab"]["item_id"] for o in both if o["ab"]["chosen"] != o["ba"]["chosen"]}
    first = [r for r in scored if (r["chosen"] == "a") == (r["ord"] == "ab")]

    def longer(r: dict[str, Any]) -> str | None:
        if r["len_a"] == r["len_b"]:
            return None
        return "a" if r["len_a"] > r["len_b"] else "b"

    doubtful = [r for r in scored if (r["chosen"] != r["label"] or r["item_id"] in inconsistent_items)
                and longer(r) is not None]
    longer_wins = sum(r["chosen"] == longer(r) for r in doubtful)
    x = [((r["len_a"] - r["len_b"]) if r["ord"] == "ab" else (r["len_b"] - r["len_a"])) / 100 for r in scored]
    y = [int((r["chosen"] == "a") == (r["ord"] == "ab")) for r in scored]
    own = []
    if judge_family:
        for r in scored:
            fam = {side: family_of(r[f"model_{side}"]) if r.get(f"model_{side}") else None for side in ("a", "b")}
            mine = [side for side, f in fam.items() if f == judge_family]
            if len(mine) == 1:
                own.append(r["chosen"] == mine[0])
    return {
        "items": len(by_item), "presentations": len(rows), "scored": len(scored),
        "unscored": len(rows) - len(scored),
        "accuracy": round(correct / len(scored), 4) if scored else None, "accuracy_ci95": [low, high],
        "accuracy_by_category": by_category,
        "position_consistency": round(len(consistent) / len(both), 4) if both else None,
        "consistency_items": len(both),
        "first_position_win_rate": round(len(first) / len(scored), 4) if scored else None,
        "longer_win_rate_when_wrong_or_inconsistent": round(longer_wins / len(doubtful), 4) if doubtful else None,
        "length_bias_n": len(doubtful),
        "length_logit_slope_per_100_chars": logistic_slope(x, y),
        "self_preference_rate": round(sum(own) / len(own), 4) if own else None,
        "self_preference_n": len(own),
    }


async def run_audit(
    store: Store, judge: ModelSpec, model: Any, pairs: PairSet, *, seed: int = 0, max_attempts: int = 3,
    in_flight: int = 2, progress: RunProgress | None = None, failures: Failures | None = None,
    on_call: Callable[[dict[str, Any]], None] | None = None, limiter: asyncio.Semaphore | None = None,
) -> dict[str, Any]:
    """Judge every item in both orders (skipping what the store has), then store and return the audit.

    An item whose call fails is recorded in `failures` (stage "audit") and left out; the audit is
    stored from what was judged, and a re-run judges only what is missing."""
    audit_id = audit_id_for(judge, pairs)
    done = store.audit_call_ids(audit_id)
    todo = [(p, o) for p in pairs.items for o in ORDERS if f"{audit_id}|{p.id}|{o}" not in done]
    if progress is not None:
        progress.stage("audit", total=2 * len(pairs.items), done=2 * len(pairs.items) - len(todo))
    slots = asyncio.Semaphore(max(1, in_flight))
    failures = failures if failures is not None else Failures()

    async def item(pair: LabelledPair, orders: list[str]) -> None:
        """An item's orders one after the other: both start with the item's prompt, so the second
        finds it in the server's prompt cache; concurrent, they would queue for the same slot while
        another slot idled."""
        async with slots:
            with affinity(f"audit:{audit_id}|{pair.id}"):
                for order in orders:
                    await one(pair, order)

    async def one(pair: LabelledPair, order: str) -> None:
        first, second = (pair.response_a, pair.response_b) if order == "ab" else (pair.response_b, pair.response_a)
        try:
            verdict = await compare(model, pair.prompt, first, second, max_attempts=max_attempts, limiter=limiter)
        except Exception as exc:
            failures.record("audit", f"{judge.model} on {pairs.name} item {pair.id} ({order})", exc)
            return
        chosen = None if verdict.position is None else (
            ("a" if verdict.position == 1 else "b") if order == "ab" else ("b" if verdict.position == 1 else "a"))
        row = {
            "call_id": f"{audit_id}|{pair.id}|{order}", "audit_id": audit_id, "judge": judge.model,
            "pair_set": pairs.name, "item_id": pair.id, "category": pair.category, "ord": order, "chosen": chosen,
            "label": pair.label, "correct": None if chosen is None else int(chosen == pair.label),
            "len_a": len(pair.response_a), "len_b": len(pair.response_b), "model_a": pair.model_a,
            "model_b": pair.model_b, "reasons": verdict.reasons, "unscored_reason": verdict.unscored_reason,
            "attempts": verdict.attempts, "input_tokens": verdict.input_tokens, "output_tokens": verdict.output_tokens,
            "duration_s": verdict.duration_s, "finished_at": iso_timestamp(),
        }
        store.write_audit_call(row)
        if progress is not None:
            progress.count_calls(verdict.attempts, verdict.output_tokens)
            progress.advance("audit")
        if on_call is not None:
            on_call(row)

    orders_of: dict[str, list[str]] = defaultdict(list)
    for p, o in todo:
        orders_of[p.id].append(o)
    await asyncio.gather(*(item(p, orders_of[p.id]) for p in pairs.items if p.id in orders_of))
    metrics = audit_metrics(store.audit_calls(audit_id), judge.family)
    audit = {"audit_id": audit_id, "judge": judge.model, "pair_set": pairs.name, "n": len(pairs.items), "seed": seed,
             "provenance": json.dumps({**pairs.provenance, "content_key": pairs.content_key}),
             "metrics": json.dumps(metrics), "accuracy": metrics["accuracy"],
             "position_consistency": metrics["position_consistency"], "computed_at": iso_timestamp()}
    store.write_audit(audit)
    return {**audit, "metrics": metrics, "new_calls": len(todo) - len(failures.in_stage("audit"))}
