"""Kenton et al. 2024's central analysis: how much a protocol helps a judge, as the judge gets
weaker relative to the debaters. Per judge and protocol, the accuracy gain over the same judge's
naive answers (paired on the same questions, cluster t over passages: the `comparisons` rows),
set against the judge's own strength (its naive and expert accuracy). Only with two judges or
more: one judge is not a sweep."""

from __future__ import annotations

from typing import Any

GAINED = ("debate", "consultancy", "interactive_debate", "open_debate", "open_consultancy")


def judge_sweep(comparisons: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    headline = {(r["protocol"], r["judge"]): r for r in rows
                if not r.get("side") and not r.get("debaters") and r.get("unit") != "debate"}
    judges = sorted({j for (p, j) in headline if p == "naive"})
    if len(judges) < 2:
        return []
    out = []
    for c in comparisons:
        if c["judge"] not in judges or "naive" not in (c["first"], c["second"]):
            continue
        other = c["second"] if c["first"] == "naive" else c["first"]
        if other not in GAINED:
            continue
        sign = -1 if c["first"] == "naive" else 1  # difference is first - second: make it other - naive
        lo, hi = c["ci_low"], c["ci_high"]
        naive, expert = headline.get(("naive", c["judge"])), headline.get(("expert", c["judge"]))
        out.append({"judge": c["judge"], "protocol": other, "n": c["n"],
                    "judge_naive_accuracy": naive["accuracy"] if naive else None,
                    "judge_expert_accuracy": expert["accuracy"] if expert else None,
                    "gain": None if c["difference"] is None else round(sign * c["difference"], 4),
                    "ci_low": None if lo is None or hi is None else round(min(sign * lo, sign * hi), 4),
                    "ci_high": None if lo is None or hi is None else round(max(sign * lo, sign * hi), 4),
                    "p_holm": c.get("p_holm")})
    return sorted(out, key=lambda r: (r["protocol"], r["judge_naive_accuracy"] or 0, r["judge"]))
