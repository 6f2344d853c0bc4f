"""Debate as oversight: the summary printed by `run` and the report written by `report` (Markdown,
HTML with plots, and `report.json` with the `oversight` rows and every other table).

Everything is read from the results stored by the runner; nothing here calls a model.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from debatelab.report.plots import (
    plot_beliefs,
    plot_judge_sweep,
    plot_oversight_accuracy,
    plot_rating_accuracy,
    plot_reliability,
)
from debatelab.report.tables import CSS, Table, fmt, stored_result
from debatelab.store import Store

SMALL_MODEL_NOTE = ("With SmolLM2-135M (the embedded model) as debater and judge, accuracy is near chance (0.5 on "
                    "two options) whatever the protocol: these figures exercise the pipeline and say nothing about "
                    "debate. Run experiments/oversight-ollama (or your own models) for findings.")
ANCHORS = ("For comparison (QuALITY, two options): Khan et al. 2024 report judge accuracy 76% with debate (LLM "
           "judges; 88% human) against 48% (60%) for naive judges; Michael et al. 2023 report 84% for human debate "
           "against 74% for consultancy.")


def load_oversight(store: Store, experiment: str) -> dict[str, Any]:
    return stored_result(store, experiment, "oversight", "oversight")


def _interval(row: dict[str, Any]) -> str:
    return "—" if row.get("ci_low") is None else f"[{fmt(row['ci_low'], 3)}, {fmt(row['ci_high'], 3)}]"


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.3f}"


UNIT = ("n counts questions, the unit of analysis: a question's verdicts in a cell are averaged first (the "
        "consultant argued each question on both sides), and intervals are clustered by passage (a cluster t "
        "interval with passages - 1 degrees of freedom; Wilson for one verdict per question on distinct passages).")


def oversight_tables(results: dict[str, Any]) -> list[Table]:
    out = []
    rule = results.get("unanswered_rule", "An unanswered verdict counts as wrong.")
    t = Table("Judge accuracy by protocol", ["protocol", "judge", "debaters", "consultant argued", "n", "verdicts",
                                              "correct verdicts", "accuracy", "95% CI", "unanswered", "missing"],
              f"The headline matchup: the judge alone, consultant 1, or debater 1 against itself. {UNIT} {rule} "
              "A planned trial whose verdict failed is counted as missing (the row says how many), never dropped "
              "from its balanced pair in silence. "
              "Consultancy is also split by the side the consultant argued. " + ANCHORS)
    for r in results["oversight"]:
        t.add(r["protocol"], r["judge"], r.get("debaters", ""), r.get("side", ""), r["n"], r.get("verdicts", r["n"]),
              r.get("correct_verdicts", r["correct"]),
              fmt(r["accuracy"], 3), _interval(r), r["unanswered"], r.get("missing", "") or "")
    out.append(t)
    if results.get("oversight_matchups"):
        t = Table("Other matchups (self-play of each debater, cross-play)",
                  ["protocol", "judge", "matchup", "debaters", "n", "verdicts", "accuracy", "95% CI"],
                  f"Reported apart from the headline, never pooled into it. {UNIT}")
        for r in results["oversight_matchups"]:
            t.add(r["protocol"], r["judge"], r["matchup"], r.get("debaters", ""), r["n"], r["verdicts"],
                  fmt(r["accuracy"], 3), _interval(r))
        out.append(t)
    t = Table("Paired comparisons on the same questions", ["judge", "comparison", "n", "accuracies",
                                                           "difference [95% CI]", "p", "p (Holm)", "test"],
              "The headline matchups, question by question. Interval: cluster t over passages. p: the paired "
              "cluster t test (McNemar's exact test where each question has one verdict a side on its own "
              "passage); Holm's correction runs over every row of this table (one family). An interval that "
              "includes 0 means the data cannot tell the protocols apart.")
    for c in results["comparisons"]:
        t.add(c["judge"], f"{c['first']} - {c['second']}", c["n"],
              f"{fmt(c['first_accuracy'], 3)} vs {fmt(c['second_accuracy'], 3)}",
              f"{_signed(c['difference'])} [{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]", fmt(c["p"], 3),
              fmt(c.get("p_holm"), 3), c.get("test") or "")
    out.append(t)
    if results.get("position_bias"):
        t = Table("Position and letter bias", ["protocol", "judge", "where the correct answer stood", "n",
                                               "accuracy", "95% CI"],
                  "Headline accuracy when the correct answer was option A or B, and when its side spoke first or "
                  "second. A judge without a position preference is equally accurate in both rows.")
        for r in results["position_bias"]:
            t.add(r["protocol"], r["judge"], r["position"], r["n"], fmt(r["accuracy"], 3), _interval(r))
        out.append(t)
    t = Table("Quotes by side", ["protocol", "side argued", "turns", "quotes", "verified", "verified rate [95% CI]",
                                 "quotes per turn"],
              "A quote is verified when its words appear in the passage (case, punctuation and spacing ignored). "
              "The judge sees verified and unverified quotes marked differently. Interval: verified per quote, "
              "clustered by passage.")
    for q in results["quotes"]:
        t.add(q["protocol"], q["side"] or "", q["turns"], q["quotes"], q["verified"],
              f"{fmt(q['verified_rate'], 3)} {_interval(q)}" if q["quotes"] else "no quotes",
              fmt(q["quotes_per_turn"], 2))
    out.append(t)
    t = Table("Calibration of the judge's stated probability", ["protocol", "judge", "verdicts", "Brier score"],
              "Brier score: mean squared error of the probability the judge gave the correct answer (0 is perfect; "
              "always saying 50% scores 0.25). An unanswered verdict counts as 50%.")
    for c in results["calibration"]:
        t.add(c["protocol"], c["judge"], c["n"], fmt(c["brier"], 3))
    out.append(t)
    if results["open"]:
        t = Table("Open protocols: the agent chooses its answer",
                  ["protocol", "n", "chose correct [95% CI]", "unreadable choices", "judge accuracy when it chose "
                   "correct (n)", "... when it chose incorrect (n)"],
                  "An unreadable choice counts as not correct; the agent then argued a seeded assigned answer.")
        for o in results["open"]:
            t.add(o["protocol"], o["n"], f"{fmt(o['rate'], 3)} {_interval(o)}", o["unreadable_choices"],
                  f"{fmt(o['judge_accuracy_when_correct'], 3)} ({o['n_when_correct']})",
                  f"{fmt(o['judge_accuracy_when_incorrect'], 3)} ({o['n_when_incorrect']})")
        out.append(t)
    t = Table("Debaters: truth advantage and ratings", ["protocol", "judge", "debates", "unanswered",
                                                        "truth advantage [95% CI]", "ratings (Bradley-Terry, 95% CI)"],
              "Per protocol, never pooled. Truth advantage: how often the judge sided with the debater arguing "
              "the correct answer (questions as the unit, every matchup of a question averaged). Ratings: "
              "log-strengths from cross-play (two or more debaters), overall and per side, 1,000 bootstrap "
              "resamples over questions; aggregate: Khan et al.'s mean of a debater's two side ratings.")
    for r in results["ratings"]:
        rated = "; ".join(f"{x['name']} {x['strength']:+.2f} [{fmt(x['ci_low'], 2)}, {fmt(x['ci_high'], 2)}]"
                          for x in r.get("overall", []) + r.get("by_side", [])) or "one debater: no ratings"
        if r.get("aggregate"):
            rated += "; aggregate: " + ", ".join(f"{x['name']} {x['strength']:+.2f}" for x in r["aggregate"])
        if r.get("soft_aggregate"):
            rated += "; from soft wins: " + ", ".join(f"{x['name']} {x['strength']:+.2f}" for x in r["soft_aggregate"])
        slope = r.get("accuracy_slope")
        if slope:
            rated += (f"; self-play accuracy per rating point: {_signed(slope['slope'])} [{_signed(slope['ci_low'])}, "
                      f"{_signed(slope['ci_high'])}]" if slope["slope"] is not None else f"; slope: {slope['reason']}")
        t.add(r.get("protocol", "debate"), r["judge"], r["debates"], r["unanswered"],
              f"{fmt(r['truth_advantage'], 3)} {_interval(r)}", rated)
    out.append(t)
    if results.get("lengths"):
        t = Table("Debate length (imported debates)", ["protocol", "debaters", "debates", "speeches / debate",
                                                        "characters / debate"])
        for r in results["lengths"]:
            t.add(r["protocol"], r["debaters"], r["debates"], r["speeches_per_debate"], r["characters_per_debate"])
        out.append(t)
    beliefs = results.get("beliefs") or {}
    if beliefs.get("rounds"):
        t = Table("The judge's belief, round by round",
                  ["protocol", "debaters", "judge", "after round", "trials", "mean P(correct) [95% CI]",
                   "P(correct) > 0.5 [95% CI]"],
                  "Over the trials that reached that round (a judge who ended early drops out). Intervals clustered "
                  "by story or passage.")
        for r in beliefs["rounds"]:
            t.add(r["protocol"], r["debaters"] or "-", r["judge"], r["after_round"], r["n"],
                  f"{fmt(r['mean_p_correct'], 3)} {_interval(r)}",
                  f"{fmt(r['accuracy'], 3)} {_interval({'ci_low': r['accuracy_ci_low'], 'ci_high': r['accuracy_ci_high']})}")
        out.append(t)
        t = Table("Drift of the belief on the correct answer (last - first)",
                  ["protocol", "debaters", "judge", "trials", "drift [95% CI]", "p"],
                  "Per trial, the last probability on the correct answer minus the first; paired cluster t over "
                  "stories. Debate alone should not move the expected belief on the truth unless it informs the judge.")
        for r in beliefs["drift"]:
            t.add(r["protocol"], r["debaters"] or "-", r["judge"], r["n"], f"{_signed(r['drift'])} "
                  f"[{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]", fmt(r["p"], 3))
        out.append(t)
    if results.get("judge_sweep"):
        t = Table("Judge-strength sweep: what a protocol adds over the judge's own naive answers",
                  ["protocol", "judge", "judge's naive accuracy", "judge's expert accuracy", "questions",
                   "gain over naive [95% CI]", "p (Holm)"],
                  "Kenton et al. 2024's central analysis: the same questions, paired; a weaker judge (lower naive "
                  "accuracy) should gain more from debate if debate helps supervise stronger debaters.")
        for r in results["judge_sweep"]:
            t.add(r["protocol"], r["judge"], fmt(r["judge_naive_accuracy"], 3), fmt(r["judge_expert_accuracy"], 3),
                  r["n"], f"{_signed(r['gain'])} [{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]", fmt(r["p_holm"], 3))
        out.append(t)
    if results.get("judge_agreement"):
        out.append(agreement_table(results["judge_agreement"]))
    if results.get("passage_revealed"):
        t = Table("Share of the passage revealed to the judge", ["protocol", "trials", "passage (characters)",
                                                                 "share revealed [95% CI]"],
                  "Per trial, the characters of the passage its verified quotes show (overlaps once) over the "
                  "passage's; clustered by passage. Near 1: the judge was shown nearly all of it (no gap left).")
        for r in results["passage_revealed"]:
            t.add(r["protocol"], r["trials"], r["passage_chars"], f"{fmt(r['share_revealed'], 3)} {_interval(r)}")
        out.append(t)
    t = Table("Cost per protocol", ["protocol", "trials", "calls", "calls / trial", "tokens / trial"])
    for c in results["cost"]:
        t.add(c["protocol"], c["trials"], c["calls"], c["calls_per_trial"], c["tokens_per_trial"])
    out.append(t)
    return out


def agreement_table(rows: list[dict[str, Any]]) -> Table:
    t = Table("Model judges beside the human judges (same transcripts)",
              ["protocol", "judge", "trials", "accuracy [95% CI]", "people's accuracy [95% CI]",
               "difference [95% CI]", "p", "kappa", "r (P correct)"],
              "On the trials a person also judged, the model reading the same transcript (no story). Difference: "
              "model - people, paired cluster t over stories. Kappa: agreement on the chosen answer beyond chance; "
              "r: correlation of the probabilities each put on the correct answer.")
    for r in rows:
        human = _interval({"ci_low": r["human_ci_low"], "ci_high": r["human_ci_high"]})
        if r["too_few"]:
            t.add(r["protocol"], r["judge"], r["n"], f"{fmt(r['accuracy'], 3)} {_interval(r)}",
                  f"{fmt(r['human_accuracy'], 3)} {human}", r["too_few"], "", "", "")
            continue
        t.add(r["protocol"], r["judge"], r["n"], f"{fmt(r['accuracy'], 3)} {_interval(r)}",
              f"{fmt(r['human_accuracy'], 3)} {human}",
              f"{_signed(r['difference'])} [{_signed(r['diff_ci_low'])}, {_signed(r['diff_ci_high'])}]",
              fmt(r["p"], 3), fmt(r["kappa"], 3), fmt(r["correlation"], 3))
    return t


INFORMATION_NOTES = {
    "asymmetric": "Information: asymmetric (the debaters read a passage the judge does not). ",
    "symmetric": "Information: symmetric (closed questions, no passage: the judge knows what the debaters know; "
                 "Kenton et al. 2024 found debate no better than direct answers here). ",
}


def _preference_note(results: dict[str, Any]) -> str:
    p = results.get("preference")
    if not p:
        return ""
    held = "held out from the judges" if p.get("held_out") else "NOT held out: it is also a judge"
    return f"Best-of-N candidates were rated by {p['model']} ({held}). "


def _truncation_note(results: dict[str, Any]) -> str:
    t = results.get("truncation")
    if not t or not t.get("truncated"):
        return ""
    return (f"Passages truncated to {t['max_tokens']} tokens: {t['truncated']} of {t['questions']} questions' "
            f"passages were cut; the share of the passage kept was {t['mean_share_kept']:.0%} on average "
            f"(lowest {t['min_share_kept']:.0%}). ")


def print_oversight_summary(console: Console, experiment: str, results: dict[str, Any]) -> None:
    tables = oversight_tables(results)
    console.print(tables[0].rich())
    console.print(next(t for t in tables if t.title.startswith("Paired")).rich())
    console.print(SMALL_MODEL_NOTE if _small(results) else "", highlight=False, markup=False)


def _small(results: dict[str, Any]) -> bool:
    return any("smollm2" in r["judge"].lower() for r in results["oversight"])


def write_oversight_report(store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
    results = load_oversight(store, experiment)
    out_dir.mkdir(parents=True, exist_ok=True)
    ts = oversight_tables(results)
    title = f"debatelab report: {experiment} (debate as scalable oversight)"
    note = SMALL_MODEL_NOTE if _small(results) else ("Judges answered without the passage (except expert); "
                                                     "debaters and consultants read it.")
    spec = f" It describes the spec with hash {results['spec_hash']}." if results.get("spec_hash") else ""
    head = (f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from the results database; no model was called.{spec} "
            f"{INFORMATION_NOTES.get(results.get('information', ''), '')}{_truncation_note(results)}"
            f"{_preference_note(results)}{note}")
    (out_dir / "report.md").write_text("\n".join([f"# {title}", "", head, ""] + [t.markdown() for t in ts]),
                                       encoding="utf-8")
    images = [(alt, img) for alt, img in (("judge accuracy by protocol", plot_oversight_accuracy(results)),
                                          ("judge calibration", plot_reliability(results)),
                                          ("the judge's belief round by round", plot_beliefs(results)),
                                          ("gain over naive against judge strength", plot_judge_sweep(results)),
                                          ("accuracy against debater rating", plot_rating_accuracy(results))) if img]
    body = (f"<h1>{html.escape(title)}</h1><p>{html.escape(head)}</p>" + "".join(t.html() for t in ts)
            + "".join(f"<img alt='{alt}' src='data:image/png;base64,{img}'/>" for alt, img in images))
    (out_dir / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style>"
        f"</head><body>{body}</body></html>", encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps({"experiment": experiment, "note": note, **results}, indent=2),
                                         encoding="utf-8")
    return results
