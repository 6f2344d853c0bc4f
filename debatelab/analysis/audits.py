"""The line that stands beside every table a judge produced: its latest audit on labelled pairs
(accuracy with its interval, n and unscored, position consistency, first-position wins), or a
plain 'not audited' with the command that audits it.

It lives with the analysis, not with the audit runner in `debatelab.judging`, so that a report,
which calls no model, does not load LangGraph to print it."""

from __future__ import annotations

import json
from typing import Any


def audit_line(audit: dict[str, Any] | None, judge: str) -> str:
    """One line to stand beside every table this judge produced."""
    if audit is None:
        spec = judge if "@" in judge else f"{judge}@HOST"  # results name a judge by its tag, not its host
        return f"judge {judge} - not audited; run `debatelab audit-judge --judge {spec}` before trusting its scores"
    m = json.loads(audit["metrics"]) if isinstance(audit["metrics"], str) else audit["metrics"]
    low, high = m["accuracy_ci95"]
    acc = "unscored" if m["accuracy"] is None else f"{m['accuracy']:.2f} [{low:.2f}, {high:.2f}]"
    cons = "-" if m["position_consistency"] is None else f"{100 * m['position_consistency']:.0f}%"
    first = "-" if m["first_position_win_rate"] is None else f"{100 * m['first_position_win_rate']:.0f}%"
    return (f"judge {judge} - accuracy on {audit['pair_set']} {acc} (n={m['scored']}, unscored {m['unscored']}), "
            f"position-consistent {cons}, first position wins {first}")
