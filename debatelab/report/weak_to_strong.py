"""Weak-to-strong results: the summary printed by `run` and the report written by `report`.

Both read the `w2s` results stored by the question runner; nothing here calls a model.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from debatelab.report.tables import CSS, Table, fmt, stored_result
from debatelab.store import Store


def load_results(store: Store, experiment: str) -> dict[str, Any]:
    return stored_result(store, experiment, "w2s", "weak-to-strong")


def acc(entry: dict[str, Any]) -> str:
    if entry.get("accuracy") is None:
        return "—"
    ci = f" [{fmt(entry['ci_low'])}, {fmt(entry['ci_high'])}]" if entry.get("ci_low") is not None else ""
    return f"{fmt(entry['accuracy'])}{ci}"


def tables(results: dict[str, Any]) -> list[Table]:
    ev = results["evaluation"]
    out = []
    t = Table(f"Methods on the evaluation split (hard, n = {ev['n']}); weights fitted on calibration (easy)",
              ["method", "accuracy [95% CI]", "n", "unanswered", "calls per question"],
              "Unanswered questions count as wrong and are never guessed. Self-consistency uses the best "
              "calibration agent with as many calls as the ensemble (equal budget).")
    for name, e in ev["methods"].items():
        t.add(name, acc(e), e["n"], e["unanswered"], e["calls_per_question"])
    out.append(t)
    probs = results.get("option_probabilities") or {}
    out[-1].note += (f" Option probabilities (from the backend's logprobs) were read for "
                     f"{probs.get('with_probabilities', 0)} of {probs.get('evaluation_answers', 0)} weak answers; an "
                     f"answer without them counts as probability 1 on its letter.")
    t = Table("Paired comparisons (exact McNemar on per-question correctness)",
              ["comparison", "only the first right", "only the second right", "p"])
    for name, m in ev["mcnemar"].items():
        t.add(name, m["a_only"], m["b_only"], fmt(m["p_value"], 3))
    out.append(t)
    t = Table(f"Weights (calibration split, n = {results['calibration']['n']}); SAMME stopped: "
              f"{results['weights']['samme_stopped']}", ["agent", "calibration accuracy [CI]", "SAMME alpha",
                                                          "accuracy weight"])
    for agent, e in results["calibration"]["agents"].items():
        t.add(agent, acc(e), fmt(results["weights"]["samme_alpha"].get(agent), 3),
              fmt(results["weights"]["accuracy"].get(agent), 3))
    out.append(t)
    t = Table("Facilitated weak agents (arXiv 2409.07335)",
              ["agent (variant)", "acc weak", "acc facilitated", "acc strong", "gain", "gap recovered",
               "right→wrong", "wrong→right", "acc after | strong right", "acc after | strong wrong", "McNemar p"],
              f"Explanations that named an option letter were rejected and retried; withheld after the limit: "
              f"{results['explanations_withheld_for_naming_a_letter']}. Gap recovered is undefined when the strong "
              f"model is not better than the weak one.")
    for name, m in results["facilitation"].items():
        t.add(name, fmt(m["acc_weak"]), fmt(m["acc_facilitated"]), fmt(m["acc_strong"]), fmt(m["gain"]),
              fmt(m["gap_recovered"]), m["right_to_wrong"], m["wrong_to_right"], fmt(m["acc_after_when_strong_right"]),
              fmt(m["acc_after_when_strong_wrong"]), fmt(m["mcnemar_after_vs_before"]["p_value"], 3))
    out.append(t)
    return out


def print_w2s_summary(console: Console, experiment: str, results: dict[str, Any]) -> None:
    ev = results["evaluation"]
    table = RichTable(title=f"{experiment}: accuracy on the hard split (n = {ev['n']}), weights from the easy split")
    table.add_column("method", no_wrap=True)
    table.add_column("accuracy [95% CI]", justify="right", no_wrap=True)
    for col in ("unanswered", "calls/q"):
        table.add_column(col, justify="right")
    for name, e in ev["methods"].items():
        table.add_row(name, acc(e), str(e["unanswered"]), str(e["calls_per_question"]))
    for name, m in results["facilitation"].items():
        table.add_row(name, f"{fmt(m['acc_weak'])} → {fmt(m['acc_facilitated'])}", "", "")
    console.print(table)
    alphas = ", ".join(f"{a} {fmt(v, 2)}" for a, v in results["weights"]["samme_alpha"].items())
    console.print(f"SAMME alphas: {alphas} ({results['weights']['samme_stopped']}); "
                  f"best calibration agent: {results['best_agent']}")
    probs = results.get("option_probabilities") or {}
    console.print(f"option probabilities read for {probs.get('with_probabilities', 0)} of "
                  f"{probs.get('evaluation_answers', 0)} weak answers (the rest vote with their letter)")
    if "run" in results:
        console.print(f"{results['run']['new_calls']} new model calls in {results['run']['wall_s']}s")


def write_w2s_report(store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
    results = load_results(store, experiment)
    out_dir.mkdir(parents=True, exist_ok=True)
    ts = tables(results)
    title = f"debatelab report: {experiment} (weak-to-strong)"
    head = f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from the results database; no model was called."
    (out_dir / "report.md").write_text("\n".join([f"# {title}", "", head, ""] + [t.markdown() for t in ts]),
                                       encoding="utf-8")
    body = f"<h1>{html.escape(title)}</h1><p>{html.escape(head)}</p>" + "".join(t.html() for t in ts)
    (out_dir / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style>"
        f"</head><body>{body}</body></html>", encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results
