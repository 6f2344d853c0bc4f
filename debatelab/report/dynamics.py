"""Debate on labelled questions: the summary printed by `run` and the report written by `report`
(Markdown, HTML with plots, and `report.json` with `dynamics` and `baselines`).

Both read the results stored by the runner; nothing here calls a model.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from debatelab.report.plots import plot_rounds
from debatelab.report.tables import CSS, Table, fmt, stored_result
from debatelab.store import Store

SMALL_MODEL_NOTE = ("These figures come from the models named in the experiment. With SmolLM2-135M (the embedded "
                    "model) answers are near chance, so the figures exercise the pipeline and say nothing about "
                    "debate itself; run experiments/dynamics-ollama (or your own) for findings.")


def load_dynamics(store: Store, experiment: str) -> dict[str, Any]:
    return stored_result(store, experiment, "dynamics", "debate-on-questions")


def _ci(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"[{fmt(low, 3)}, {fmt(high, 3)}]"


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.3f}"


def dynamics_tables(results: dict[str, Any]) -> list[Table]:
    dyn, debate = results["dynamics"], results["debate"]
    out = []
    t = Table(f"Debate - baseline on the same {debate['n']} questions (accuracy; paired)",
              ["method", "accuracy", "unanswered", "tokens / question", "debate - method [95% CI]", "McNemar p",
               "p (Holm)", "what"],
              f"The debate answers with its final round's majority ({debate['accuracy']} accuracy, "
              f"{debate['tokens_per_question']} tokens per question, {debate['unanswered']} unanswered). Intervals: "
              f"t over questions; p: McNemar's exact test, with Holm's correction over the baselines. An "
              f"unanswered question counts as wrong. {results.get('tie_rule', '')} A positive difference "
              f"means debate did better than that baseline; an interval that includes 0 means the data cannot "
              f"tell them apart.")
    for b in results["baselines"]:
        t.add(b["method"], fmt(b["accuracy"], 3), b["unanswered"], b["tokens_per_question"],
              f"{_signed(b['delta_vs_debate'])} [{_signed(b['ci_low'])}, {_signed(b['ci_high'])}]",
              fmt(b["p"], 3), fmt(b.get("p_holm"), 3), b["what"])
    out.append(t)
    t = Table("Round by round", ["round", "accuracy (mean over agents) [95% CI]", "majority-vote accuracy [95% CI]",
                                 "questions"],
              "Round 0: every agent alone. Later rounds: each agent read the others' previous answers. Intervals: "
              "questions as the unit (a question's agents averaged first); Wilson for the vote.")
    for r in dyn["rounds"]:
        t.add(r["round"], f"{fmt(r['accuracy'], 3)} {_ci(r.get('ci_low'), r.get('ci_high'))}",
              f"{fmt(r['vote_accuracy'], 3)} {_ci(r.get('vote_ci_low'), r.get('vote_ci_high'))}", r["n"])
    out.append(t)
    f = dyn["flips"]
    t = Table("What changed between rounds", ["figure", "value", "out of"],
              "Flips count each agent's answer from one round to the next (unanswered counts as wrong). "
              "Majority adoption: agents in the minority who took the majority's answer next round. "
              "Oracle gap: questions some agent answered right at round 0 that the final majority got wrong.")
    iv = dyn.get("intervals") or {}

    def with_ci(value: float | None, key: str) -> str:
        x = iv.get(key) or {}
        return f"{fmt(value, 3)} {_ci(x.get('ci_low'), x.get('ci_high'))}"

    t.add("right -> right / right -> wrong", f"{f['cc']} / {f['ci']} (right -> wrong "
          f"{with_ci((iv.get('right_to_wrong') or {}).get('estimate'), 'right_to_wrong')})", f["cc"] + f["ci"])
    t.add("wrong -> right / wrong -> wrong", f"{f['ic']} / {f['ii']} (wrong -> right "
          f"{with_ci((iv.get('wrong_to_right') or {}).get('estimate'), 'wrong_to_right')})", f["ic"] + f["ii"])
    t.add("majority adoption (ties left out)", with_ci(dyn["majority_adoption"], "majority_adoption"),
          dyn["majority_adoption_n"])
    t.add("disagreement collapse (ends unanimous)", with_ci(dyn["disagreement_collapse"], "disagreement_collapse"),
          dyn["disagreements"])
    t.add("... of those, unanimous and right", with_ci(dyn["collapsed_right"], "collapsed_right"), "")
    t.add("oracle gap", with_ci(dyn["oracle_gap"], "oracle_gap"), dyn["n"])
    t.add("tokens per question (debate)", dyn["tokens_per_question"], "")
    out.append(t)
    if results.get("self_consistency_curve"):
        t = Table("Self-consistency against k", ["samples (k)", "accuracy [95% CI]", ""],
                  "The baseline agent's majority of its first k samples (ties: a seeded draw). The marked row spends "
                  "the debate's tokens; `self_consistency_extra` draws samples beyond it.")
        for c in results["self_consistency_curve"]:
            t.add(c["k"], f"{fmt(c['accuracy'], 3)} {_ci(c['ci_low'], c['ci_high'])}",
                  "equal compute" if c["equal_compute"] else "")
        out.append(t)
    if "conformity" in results:
        c = results["conformity"]
        t = Table("Conformity probe: a peer states a wrong answer with confidence from round 1",
                  ["run", "right at round 0", "of those, the probe's letter at round 1 [95% CI]"],
                  "The probed debate and its control share round 0; an agent gives in when it answers the probe's "
                  "letter at round 1. Intervals: questions as the unit. Difference: paired t test over questions.")
        t.add("with the probe", c["right_at_round_0_with_probe"],
              f"{fmt(c['sycophancy_rate_with_probe'], 3)} {_ci(c.get('ci_low_with_probe'), c.get('ci_high_with_probe'))}")
        t.add("without it", c["right_at_round_0_without_probe"],
              f"{fmt(c['sycophancy_rate_without_probe'], 3)} "
              f"{_ci(c.get('ci_low_without_probe'), c.get('ci_high_without_probe'))}")
        if c.get("difference") is not None:
            t.add("difference", c.get("questions", ""), f"{_signed(c['difference'])} "
                  f"[{_signed(c.get('ci_low'))}, {_signed(c.get('ci_high'))}], p {fmt(c.get('p'), 3)}")
        out.append(t)
    return out


def print_dynamics_summary(console: Console, experiment: str, results: dict[str, Any]) -> None:
    debate = results["debate"]
    table = RichTable(title=f"{experiment}: debate ({debate['accuracy']} accuracy, {debate['tokens_per_question']} "
                            f"tokens/question, n = {debate['n']}) against its baselines")
    for col in ("method", "accuracy", "tokens/q", "debate - method [95% CI]", "McNemar p"):
        table.add_column(col, justify="right" if col != "method" else "left")
    for b in results["baselines"]:
        table.add_row(b["method"], fmt(b["accuracy"], 3), str(b["tokens_per_question"]),
                      f"{_signed(b['delta_vs_debate'])} [{_signed(b['ci_low'])}, {_signed(b['ci_high'])}]",
                      fmt(b["p"], 3))
    console.print(table)
    rounds = ", ".join(f"round {r['round']}: {fmt(r['accuracy'], 2)} (vote {fmt(r['vote_accuracy'], 2)})"
                       for r in results["dynamics"]["rounds"])
    console.print(f"accuracy by round: {rounds}", highlight=False)
    console.print(SMALL_MODEL_NOTE, highlight=False, markup=False)


def write_dynamics_report(store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
    results = load_dynamics(store, experiment)
    out_dir.mkdir(parents=True, exist_ok=True)
    ts = dynamics_tables(results)
    title = f"debatelab report: {experiment} (debate on labelled questions)"
    head = (f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from the results database; no model was called. "
            f"{SMALL_MODEL_NOTE}")
    (out_dir / "report.md").write_text("\n".join([f"# {title}", "", head, ""] + [t.markdown() for t in ts]),
                                       encoding="utf-8")
    image = plot_rounds(results)
    body = (f"<h1>{html.escape(title)}</h1><p>{html.escape(head)}</p>" + "".join(t.html() for t in ts)
            + (f"<img alt='accuracy by round' src='data:image/png;base64,{image}'/>" if image else ""))
    (out_dir / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style>"
        f"</head><body>{body}</body></html>", encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps({"experiment": experiment, **results}, indent=2),
                                         encoding="utf-8")
    return results
