"""`debatelab report`: Markdown and one self-contained HTML page, computed from the store only.

A report never calls a model; it reads the results database, runs the statistics in
`debatelab.analysis.stats`, draws plots with matplotlib (embedded as base64 PNG), and shows every table
with n and the number of unscored debates.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from debatelab.analysis import (
    JudgeAgreement,
    agreement_lines,
    analyse,
    audit_line,
    diagnostic_lines,
    experiment_agreement,
    pairwise_ratings,
    stance_summary,
)
from debatelab.report.plots import plot_cost, plot_distributions, plot_groups, plot_heatmap
from debatelab.report.tables import CSS, Table, ci, fmt, mark
from debatelab.rubric import OVERALL, SCORE_ONLY_VERSIONS
from debatelab.store import Store, is_human

MAX_TRANSCRIPTS = 200


def build_tables(a: dict[str, Any], reliability: list[dict[str, Any]]) -> list[Table]:
    tables: list[Table] = []
    groups = a.get("groups") or {}
    flags = diagnostic_lines(a.get("judge_diagnostics") or [])
    t = Table("Ensembles vs single-model baselines (the paper's view)",
              ["metric", "baseline mean", "n / unscored", "ensemble mean", "n / unscored", "gain %", "pairs",
               f"p ({a['method']})", "p (Holm)", "Cohen's dz", "rank-biserial"],
              "The unit is the scenario: pairs match the ensembles' mean with the baselines' mean on the same "
              "scenario (repeats averaged), and intervals are t intervals on scenario means. Holm's correction runs "
              "over the metrics of this table. * p(Holm) < 0.05, ** < 0.01. Effect sizes need "
              f"{(a.get('minimum_n') or {}).get('effect_sizes', 10)} pairs or more. Unscored debates are counted, "
              "never filled in." + ("" if not flags else " JUDGE WARNING: " + "; ".join(flags) + "."))
    for row in a.get("paper_table", []):
        m = row["metric"]
        b, e = groups.get("baseline", {}).get(m, {}), groups.get("ensemble", {}).get(m, {})
        few = row.get("effect_size_reason")
        t.add(m, ci(b) if b else "—", f"{b.get('n', 0)} / {b.get('unscored', 0)}", ci(e) if e else "—",
              f"{e.get('n', 0)} / {e.get('unscored', 0)}", fmt(row["gain_pct"], 1), row["n_pairs"],
              fmt(row["p_value"], 3), fmt(row["p_holm"], 3) + mark(row["p_holm"]), few or fmt(row["cohens_dz"]),
              few or fmt(row["rank_biserial"]))
    tables.append(t)
    if a.get("judge_diagnostics"):
        t = Table("Judge diagnostics", ["judge", "judgments", "flat across criteria", "debates",
                                        "distinct overall scores", "flags"],
                  "A judge that gives every criterion one score, every debate one score, or always prefers one "
                  "position is not measuring what the tables above name.")
        for d in a["judge_diagnostics"]:
            t.add(d["judge"], d.get("judgments", d.get("pairwise_verdicts", "")), d.get("flat_judgments", ""),
                  d.get("debates", ""), d.get("distinct_overall_scores", ""), "; ".join(d["flags"]) or "none")
        tables.append(t)
    t = Table("Raw and length-controlled differences from the baselines",
              ["configuration", "criterion", "raw difference", "at equal length [95% CI]", "tokens / baseline's",
               "n (ensemble / baselines)", "note"],
              "LLM judges favour longer transcripts. 'At equal length' is the ensemble's coefficient in a regression, "
              "within scenarios (scenario fixed effects), of each debate's score on being the ensemble's and on the "
              "log of its transcript's length; its interval is a cluster bootstrap-t over scenarios. A difference "
              "that shrinks here was partly length. It is 'not estimable' below "
              f"{(a.get('minimum_n') or {}).get('length_control_scenarios', 10)} scenarios or when the lengths do "
              "not overlap (never extrapolated). 'Tokens / baseline's' is what the difference cost.")
    for r in a.get("length_controlled", []):
        interval = (f" [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]" if r["ci_low"] is not None else "")
        t.add(r["configuration"], r["criterion"], fmt(r["raw_delta"]),
              fmt(r["controlled_delta"]) + interval if r["controlled_delta"] is not None else "not estimable",
              fmt(r["tokens_ratio"]), f"{r['n']} / {r['n_baseline']}", r["note"])
    tables.append(t)
    if a.get("one_model"):
        t = Table("Ensembles vs the same protocol on one model (compute-matched)",
                  ["configuration", "one-model copy", "criterion", "paired difference", "pairs", "p (Holm)",
                   "at equal length [95% CI]", "tokens / copy's", "note"],
                  "Each ensemble against its copy with every agent on one model: the same roles, rounds, sampling "
                  "and token limits, so what differs is only whether the ensemble's models differ. Pairs match "
                  "debates on the same scenario and repeat; 'at equal length' is as in the table above; "
                  "'tokens / copy's' near 1 means the copy spent the ensemble's budget.")
        for r in a["one_model"]:
            interval = (f" [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]" if r["ci_low"] is not None else "")
            t.add(r["configuration"], r["baseline"], r["criterion"], fmt(r["paired_delta"]), r["pairs"],
                  fmt(r["p_holm"], 3) + mark(r["p_holm"]),
                  fmt(r["controlled_delta"]) + interval if r["controlled_delta"] is not None else "not estimable",
                  fmt(r["tokens_ratio"]), r["note"] + (f"; {r['test_note']}" if r["test_note"] else ""))
        tables.append(t)
    t = Table("Per configuration (overall score)",
              ["configuration", "kind", "topology", "mean [95% CI]", "n", "unscored", "diff vs baseline",
               "p (Holm)", "note"])
    for e in a.get("per_config", []):
        vs = e.get("vs_baseline") or {}
        t.add(e["config"], e["kind"], e["topology"], ci(e[OVERALL]), e[OVERALL]["n"], e[OVERALL]["unscored"],
              fmt(vs.get("mean_diff")), fmt(vs.get("p_holm"), 3) + mark(vs.get("p_holm")), vs.get("note", ""))
    tables.append(t)
    t = Table("Per scenario category (overall score)",
              ["category", "baseline mean [CI]", "n / unscored", "ensemble mean [CI]", "n / unscored"])
    for c in a.get("per_category", []):
        t.add(c["category"], ci(c["baseline"]), f"{c['baseline']['n']} / {c['baseline']['unscored']}",
              ci(c["ensemble"]), f"{c['ensemble']['n']} / {c['ensemble']['unscored']}")
    tables.append(t)
    t = Table("Judge reliability", ["criterion", "Krippendorff's alpha (ordinal)", "judges", "flip rate",
                                    "flip pairs", "unscored rate", "criterion judgments"],
              "Alpha needs two or more judges and some variation; '—' means undefined, not perfect. "
              "Flip rate: share of scores that change when the speaker order is permuted.")
    for r in reliability:
        t.add(r["criterion"], fmt(r["alpha_ordinal"], 3), r["judges"], fmt(r["flip_rate"], 3), r["flip_pairs"],
              fmt(r["unscored_rate"], 3), r["criterion_judgments"])
    tables.append(t)
    t = Table("Cost per configuration", ["configuration", "debates", "model calls", "input tokens",
                                         "output tokens", "model seconds", "s / debate", "mean overall"])
    for c in a.get("cost", []):
        t.add(c["config"], c["debates"], c["calls"], c["input_tokens"], c["output_tokens"], fmt(c["seconds"], 1),
              fmt(c["seconds_per_debate"], 1), fmt(c["mean_overall"]))
    tables.append(t)
    return tables


def criterion_table(a: dict[str, Any], title: str, note: str = "") -> Table:
    """Criterion (rows) x configuration (columns): mean, with n and unscored."""
    configs = a.get("per_config", [])
    table = Table(title, ["criterion", *[e["config"] for e in configs]],
                  note or "Mean score over the configuration's debates (n scored / unscored).")
    for m in a["metrics"]:
        table.add(m, *[f"{fmt(e[m]['mean'])} ({e[m]['n']}/{e[m]['unscored']})" for e in configs])
    return table


def human_tables(store: Store, experiment: str, a: dict[str, Any]) -> tuple[list[Table], list[str]]:
    """The human raters' own table and the judge-human agreement table, with one plain line per judge."""
    version = a["rubric_version"]
    if not version or not store.has_human_judgments(experiment, version):
        return [], ["Human raters: none yet. `debatelab view` (blind rating) or `debatelab ratings import` adds them; "
                    "until then nothing here shows whether the LLM judge agrees with people."]
    human = analyse(store, experiment, rubric_version=version, judges="human")
    raters = sorted(j for j in store.experiment_judges(experiment) if is_human(j))
    tables = [criterion_table(human, f"Human raters ({len(raters)}: {', '.join(raters)}): criterion x configuration",
                              "Human ratings only, kept apart from the LLM judges' tables.")]
    rows = experiment_agreement(store, experiment, version, [m for m in a["metrics"] if m != OVERALL], a["rubric"])
    tables.append(agreement_table_of(rows))
    return tables, agreement_lines(rows)


def agreement_table_of(rows: list[JudgeAgreement]) -> Table:
    table = Table("Agreement: LLM judges and human raters",
                  ["criterion", "judge", "human raters", "alpha among humans (debates rated twice+)",
                   "alpha judge vs humans", "mean |judge - human mean|", "Spearman rho", "debates", "verdict"],
                  "Krippendorff's alpha (ordinal), first unpermuted sample of each judge; '—' = undefined. "
                  "The verdict bootstraps debates for (judge-human alpha - human-human alpha).")
    for r in rows:
        table.add(r.criterion, r.judge, r.humans, f"{fmt(r.alpha_humans, 3)} ({r.alpha_humans_n})",
                  fmt(r.alpha_judge_humans, 3), fmt(r.mean_abs_diff), fmt(r.spearman_rho), r.debates, r.verdict)
    return table


def transcripts(store: Store, experiment: str, rubric_version: str | None) -> tuple[list[dict[str, Any]], int]:
    debates = store.debates(experiment, finished_only=True, limit=MAX_TRANSCRIPTS)
    total = store.count_debates(experiment, "finished")
    if not debates:
        return [], total
    ids = [d["debate_id"] for d in debates]
    turns = store.turns_of(ids)
    for d in debates:
        d["turn_rows"] = turns.get(d["debate_id"], [])
        d["judgment_rows"] = [j for j in store.judgment_scores(d["debate_id"])
                              if j["rubric_version"] == (rubric_version or "")]
    return debates, total


def turn_label(t: dict[str, Any]) -> str:
    """The aggregator's turn is the verdict, not one more round; a critic's turn is a critique."""
    if t.get("kind") == "verdict" or t.get("role") == "aggregator":
        return "verdict"
    if t.get("kind") == "critique" or t.get("role") == "critic":
        return f"critique, round {t['round']}"
    return f"round {t['round']}"


def judgment_html(j: dict[str, Any]) -> str:
    score_only = j.get("prompt_version") in SCORE_ONLY_VERSIONS
    rows = "".join(
        f"<tr><td>{html.escape(sc['criterion'])}</td><td>{'unscored' if sc['score'] is None else sc['score']}</td>"
        f"<td>{html.escape(sc['unscored_reason'] or '') if sc['score'] is None else ''} "
        f"{html.escape(sc['rationale'] or '')}</td></tr>" for sc in j["scores"])
    version = f" · judge prompt v{html.escape(str(j['prompt_version']))}" if j.get("prompt_version") else ""
    note = "<p class='note'>Score alone: this prompt version asks the judge for no reasons.</p>" if score_only else ""
    return (f"<div class='judgment'><b>{html.escape(j['judge'])}</b> sample {j['sample']}{version} · overall "
            f"{fmt(j['overall'])}{note}<table><tr><th>criterion</th><th>score</th><th>reason</th></tr>{rows}</table></div>")


def transcripts_html(debates: list[dict[str, Any]], total: int) -> str:
    parts = [f"<h2>Transcripts</h2><p class='note'>{len(debates)} of {total} debates shown, each with every judgment "
             f"(score and reason per criterion); `debatelab view` browses all of them, `debatelab export` writes them.</p>"]
    for d in debates:
        judged = ", ".join(f"{j['judge']}#{j['sample']}: {fmt(j['overall'])}" for j in d["judgment_rows"]) or "not judged"
        parts.append(f"<details><summary><b>{html.escape(d['config'])}</b> · {html.escape(d['scenario_id'])} · "
                     f"repeat {d['repeat']} · verdict {html.escape(str(d['verdict_winner']))} · {html.escape(judged)}"
                     f"</summary><p><i>{html.escape(d['motion'] or '')}</i></p><div class='two'><div>")
        for t in d["turn_rows"]:
            flag = " <span class='flag'>truncated</span>" if t["truncated"] else ""
            parts.append(f"<div class='turn'><div class='who'>{html.escape(turn_label(t))} · {html.escape(t['agent'])} "
                         f"({html.escape(t['role'])}, {html.escape(t['model'] or '')}){flag}</div>"
                         f"<div class='text'>{html.escape(t['text'] or '')}</div>")
            if t["thinking"]:
                parts.append(f"<details class='think'><summary>thinking</summary><pre>{html.escape(t['thinking'])}"
                             f"</pre></details>")
            parts.append("</div>")
        parts.append("</div><div>" + "".join(judgment_html(j) for j in d["judgment_rows"]) + "</div></div></details>")
    return "\n".join(parts)


def pairwise_tables(store: Store, experiment: str, rubric_version: str | None) -> list[Table]:
    """Bradley-Terry ratings and win/tie/loss against the baselines, when the experiment was judged
    pairwise (overall first, then each criterion)."""
    versions = store.pair_rubric_versions(experiment)
    if not versions:
        return []
    version = rubric_version if rubric_version in versions else versions[0]
    return pairwise_rating_tables(pairwise_ratings(store, experiment, version))


def pairwise_rating_tables(ratings: dict[str, Any]) -> list[Table]:
    """One table per criterion of pairwise ratings (what the report and `judge --pairwise` show)."""
    tables = []
    for criterion, r in ratings.items():
        consistency = "—" if r["consistency"] is None else f"{100 * r['consistency']:.0f}%"
        table = Table(f"Pairwise ratings · {criterion}",
                      ["configuration", "Bradley-Terry log-strength [95% CI]", "win / tie / loss vs baselines",
                       "win rate 95% CI", "n"],
                      f"{r['pairs']} pairs judged in both orders, {r['unscored']} unscored; consistency {consistency} "
                      f"(a pair whose two orders disagree counts as a tie). Strengths are relative (mean 0); "
                      f"intervals resample scenario x repeat units.")
        for config, s in sorted(r["strengths"].items(), key=lambda kv: -kv[1]["log_strength"]):
            vs = r["vs_baselines"].get(config)
            ci = s["ci95"]
            table.add(config, f"{s['log_strength']:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else ""),
                      f"{vs['win']:.2f} / {vs['tie']:.2f} / {vs['loss']:.2f}" if vs else "—",
                      f"[{vs['win_ci95'][0]:.2f}, {vs['win_ci95'][1]:.2f}]" if vs else "—", vs["n"] if vs else "—")
        tables.append(table)
    return tables


def _rate(r: dict[str, Any]) -> str:
    if r["rate"] is None:
        return f"— (n={r['n']})"
    interval = f" [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]" if r["ci_low"] is not None else ""
    return f"{fmt(r['rate'])}{interval} ({r['k']}/{r['n']})"


def stance_tables(stance: dict[str, Any]) -> list[Table]:
    """Stance over a debate, per reader: concession, position change and convergence per configuration."""
    tables = []
    for g in stance.get("readers", []):
        table = Table(f"Stance over the debate (read by {g['reader']}, prompt {g['prompt_version']})",
                      ["configuration", "topology", "debates", "turns read / unread", "for / against / mixed",
                       "concession rate", "position changes", "off assigned side", "convergence", "ended unanimous"],
                      "Each argued turn's position on the motion, read from the transcript by the reader model (which "
                      "is not told the assigned side). Concession: turns conceding a point, among turns whose speaker "
                      "had read another's earlier turn. Position changes: a debater's consecutive rounds that differ. "
                      "Convergence: debates whose debaters disagreed in the first round and all agree in the last. "
                      "Turn rates: bootstrap 95% interval over debates; debate rates: Wilson. Unread turns are left "
                      "out of every rate, never guessed; a reader near chance (as SmolLM2 is) makes these figures "
                      "noise: check it on a few transcripts first.")
        for c in g["configurations"]:
            p = c["positions"]
            table.add(c["configuration"], c["topology"] or "", c["debates"], f"{c['readings']} / {c['unread']}",
                      f"{p['for']} / {p['against']} / {p['mixed']}", _rate(c["concession"]),
                      _rate(c["position_change"]), _rate(c["off_assigned_side"]), _rate(c["convergence"]),
                      _rate(c["ended_unanimous"]))
        tables.append(table)
    return tables


def audit_table(store: Store, experiment: str) -> Table:
    """Each judge's latest audit beside the tables it produced (or a plain 'not audited')."""
    table = Table("Judge audits", ["judge", "audit"],
                  "Accuracy on labelled pairs judged in both orders, with a Wilson 95% interval; position-consistent: "
                  "both orders pick the same response. `debatelab audit-judge` runs one.")
    for judge in (j for j in store.experiment_judges(experiment) if not is_human(j)):
        table.add(judge, audit_line(store.latest_audit(judge), judge).split(" - ", 1)[1])
    return table


def write_report(store: Store, experiment: str, out_dir: Path, *, method: str = "wilcoxon",
                 rubric_version: str | None = None) -> dict[str, Any]:
    """Write report.md, report.html and report.json into `out_dir`; return the analysis."""
    store.require_experiment(experiment)
    a = analyse(store, experiment, rubric_version=rubric_version, method=method)  # type: ignore[arg-type]
    reliability = store.reliability(experiment, a["rubric_version"], a.get("prompt_version"))
    people, people_lines = human_tables(store, experiment, a)
    readings = store.stance_readings(experiment)
    if readings:
        a["stance"] = stance_summary(readings)
    tables = (build_tables(a, reliability) + [criterion_table(a, "Criterion x configuration (LLM judges)")]
              + pairwise_tables(store, experiment, a["rubric_version"]) + stance_tables(a.get("stance") or {})
              + [audit_table(store, experiment)] + people)
    debates, total = transcripts(store, experiment, a["rubric_version"])
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"debatelab report: {experiment}"
    d = a["debates"]
    versions_note = (f" (other rubric versions in the store: {', '.join(a['rubric_versions'][1:])})"
                     if len(a.get("rubric_versions", [])) > 1 else "")
    layouts = a.get("prompt_versions") or []
    if a.get("prompt_version") and (len(layouts) > 1 or a["prompt_version"] != "1"):
        others = ", ".join(v for v in layouts if v != a["prompt_version"])
        versions_note += f"; judge prompt layout {a['prompt_version']}" + (
            f" (also in the store, reported apart: {others})" if others else "")
    head = (f"Rubric {a['rubric'] or '—'} @ {a['rubric_version'] or '—'}{versions_note}. "
            f"Debates: {d['finished']} finished, {d['failed']} failed, {d['total']} in the store. "
            f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from the results database; no model was called.")
    md = [f"# {title}", "", head, ""] + [t.markdown() for t in tables] + [line + "\n" for line in people_lines]
    md.append(f"\nTranscripts: see report.html ({len(debates)} of {total} shown) or `debatelab export`.\n")
    (out_dir / "report.md").write_text("\n".join(md), encoding="utf-8")
    images = [img for img in (plot_groups(a), plot_distributions(a), plot_heatmap(a), plot_cost(a)) if img]
    body = [f"<h1>{html.escape(title)}</h1><p>{html.escape(head)}</p>"]
    body += [t.html() for t in tables] + [f"<p class='note'>{html.escape(line)}</p>" for line in people_lines]
    body += [f"<img alt='plot' src='data:image/png;base64,{img}'/>" for img in images]
    body.append(transcripts_html(debates, total))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
    (out_dir / "report.html").write_text(page, encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps(a, indent=2, default=str), encoding="utf-8")
    return a
