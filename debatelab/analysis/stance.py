"""Stance over a debate: concession, position change and convergence rates per configuration.

From the stored stance readings (one per argued turn: position for / against / mixed, and whether
it conceded a point where it could):
- concession rate: conceding turns among readable turns that could concede (the speaker had read
  another speaker's turn from an earlier round);
- position change rate: a debater's consecutive argued rounds, both readable, whose positions differ;
- off assigned side: turns of a debater assigned pro or con whose position is the other side or mixed;
- convergence: among debates with two or more debaters whose first-round positions differ, those
  whose last-round positions are all the same (needs two rounds or more);
- ended unanimous: debates of two or more debaters whose last-round positions are all the same.

Turn-level rates have a bootstrap interval that resamples debates (a debate's turns are not
independent); debate-level rates have a Wilson interval. An unread turn is counted as unread and
left out of every rate, never read as a position; a debate with an unread first- or last-round turn
is left out of convergence and counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from debatelab.analysis.clustered import wilson

POSITIONS = ("for", "against", "mixed")
ASSIGNED = {"pro": "for", "con": "against"}
RESAMPLES = 2000


def _clustered_rate(per_debate: list[tuple[int, int]], seed: int = 0) -> dict[str, Any]:
    """k/n over debates, with a percentile bootstrap interval that resamples debates."""
    k = sum(a for a, _ in per_debate)
    n = sum(b for _, b in per_debate)
    out: dict[str, Any] = {"rate": round(k / n, 4) if n else None, "k": k, "n": n, "ci_low": None, "ci_high": None}
    used = np.array([(a, b) for a, b in per_debate if b > 0], dtype=float)
    if n and len(used) >= 2:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(used), size=(RESAMPLES, len(used)))
        rates = used[picks, 0].sum(axis=1) / used[picks, 1].sum(axis=1)
        out["ci_low"], out["ci_high"] = (round(float(q), 4) for q in np.quantile(rates, [0.025, 0.975]))
    elif n:
        out["ci_low"], out["ci_high"] = wilson(k, n)  # one debate: nothing to resample
    return out


def _debate_rate(k: int, n: int) -> dict[str, Any]:
    low, high = wilson(k, n)
    return {"rate": round(k / n, 4) if n else None, "k": k, "n": n, "ci_low": low, "ci_high": high}


def _debate_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One debate's counts: concessions, position changes, side drift, and its first and last rounds."""
    readable = [r for r in rows if r["position"] is not None]
    could = [r for r in readable if r["could_concede"] and r["conceded"] is not None]
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["round"], r["idx"])):
        by_agent[r["agent"]].append(r)
    changes = pairs = 0
    for turns in by_agent.values():
        # a debater's position after each round is its last argued turn of that round
        last_of_round = {t["round"]: t for t in turns}
        ordered = [last_of_round[k] for k in sorted(last_of_round)]
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before["position"] is not None and after["position"] is not None:
                pairs += 1
                changes += before["position"] != after["position"]
    sided = [r for r in readable if r.get("assigned_stance") in ASSIGNED]
    rounds = sorted({r["round"] for r in rows})
    debaters = sorted(by_agent)

    def positions_at(which: int) -> list[str | None]:
        return [next((t["position"] for t in reversed(by_agent[a]) if t["round"] == which), None) for a in debaters
                if any(t["round"] == which for t in by_agent[a])]

    first, last = positions_at(rounds[0]), positions_at(rounds[-1])
    complete = None not in first and None not in last and len(first) == len(last) == len(debaters)
    return {
        "concession": (sum(bool(r["conceded"]) for r in could), len(could)),
        "change": (changes, pairs),
        "off_side": (sum(r["position"] != ASSIGNED[r["assigned_stance"]] for r in sided), len(sided)),
        "several": len(debaters) >= 2, "rounds": len(rounds), "complete": complete,
        "disagreed": complete and len(set(first)) > 1, "unanimous_end": complete and len(set(last)) == 1,
    }


def stance_summary(readings: list[dict[str, Any]]) -> dict[str, Any]:
    """`report.json`'s `stance` object: per reader and prompt version, one row per configuration.
    `readings` are the store's rows (`Store.stance_readings`), joined with their debate's
    configuration, kind and topology."""
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in readings:
        groups[(r["reader"], r["prompt_version"])][r["config"]].append(r)
    out = []
    for (reader, version), by_config in sorted(groups.items()):
        configs = []
        for config, rows in sorted(by_config.items()):
            by_debate: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                by_debate[r["debate_id"]].append(r)
            figures = [_debate_figures(d) for d in by_debate.values()]
            several = [f for f in figures if f["several"] and f["rounds"] >= 2]
            judged = [f for f in several if f["complete"]]
            disagreed = [f for f in judged if f["disagreed"]]
            ends = [f for f in figures if f["several"] and f["complete"]]
            positions = {p: sum(r["position"] == p for r in rows) for p in POSITIONS}
            per_round = []
            for rnd in sorted({r["round"] for r in rows}):
                at = [r for r in rows if r["round"] == rnd]
                per_round.append({"round": rnd, **{p: sum(r["position"] == p for r in at) for p in POSITIONS},
                                  "unread": sum(r["position"] is None for r in at),
                                  "conceded": sum(bool(r["conceded"]) for r in at),
                                  "could_concede": sum(bool(r["could_concede"]) and r["position"] is not None
                                                       for r in at)})
            configs.append({
                "configuration": config, "kind": rows[0].get("kind"), "topology": rows[0].get("topology"),
                "debates": len(by_debate), "readings": len(rows),
                "unread": sum(r["position"] is None for r in rows), "positions": positions,
                "concession": _clustered_rate([f["concession"] for f in figures]),
                "position_change": _clustered_rate([f["change"] for f in figures]),
                "off_assigned_side": _clustered_rate([f["off_side"] for f in figures]),
                "convergence": _debate_rate(sum(f["unanimous_end"] for f in disagreed), len(disagreed)),
                "ended_unanimous": _debate_rate(sum(f["unanimous_end"] for f in ends), len(ends)),
                "convergence_left_out": len(several) - len(judged),
                "per_round": per_round,
            })
        out.append({"reader": reader, "prompt_version": version, "configurations": configs})
    return {"readers": out}
