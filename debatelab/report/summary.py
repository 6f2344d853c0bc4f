"""The summary table printed at the end of `run` and `demo` (from the same analysis as the report)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from debatelab.analysis import diagnostic_lines
from debatelab.report.tables import ci, fmt, mark
from debatelab.rubric import OVERALL


def print_summary(console: Console, a: dict[str, Any], run: Any | None = None) -> None:
    """The result table (overall score per configuration, with n, unscored and an interval) and the run's counts."""
    table = Table(title=f"{a['experiment']} · {a['rubric'] or 'no rubric'} @ {a['rubric_version'] or '—'}")
    table.add_column("configuration (kind)", no_wrap=True)
    table.add_column("overall [95% CI]", no_wrap=True)
    for col in ("n", "unscored", "Δ vs baseline", "p (Holm)"):
        table.add_column(col, justify="right")
    for e in a.get("per_config", []):
        vs = e.get("vs_baseline") or {}
        table.add_row(f"{e['config']} [dim]({e['kind']})[/dim]", ci(e[OVERALL]), str(e[OVERALL]["n"]),
                      str(e[OVERALL]["unscored"]), fmt(vs.get("mean_diff")),
                      fmt(vs.get("p_holm"), 3) + mark(vs.get("p_holm")))
    groups = a.get("groups") or {}
    for kind in ("baseline", "ensemble"):
        if kind in groups:
            g = groups[kind][OVERALL]
            table.add_row(f"[bold]all {kind}s[/bold]", ci(g), str(g["n"]), str(g["unscored"]), "", "")
    paper = {r["metric"]: r for r in a.get("paper_table", [])}
    if OVERALL in paper and paper[OVERALL]["n_pairs"]:
        r = paper[OVERALL]
        table.caption = (f"ensemble - baseline: {fmt(r['mean_diff'])} over {r['n_pairs']} matched pairs, "
                         f"p(Holm) {fmt(r['p_holm'], 3)}{' - ' + r['note'] if r['note'] else ''}")
    console.print(table)
    for line in diagnostic_lines(a.get("judge_diagnostics") or []):
        console.print(f"JUDGE WARNING {line}", highlight=False, markup=False)
    if run is not None:
        d = a["debates"]
        failed = run.failures.counts()
        console.print(f"debates: {run.debates_done} run now, {run.debates_skipped} already finished, "
                      f"{failed.get('debates', 0)} failed; judgments: {run.judgments.get('done', 0)} new, "
                      f"{run.judgments.get('skipped', 0)} already done, {run.judgments.get('failed', 0)} failed; "
                      f"{run.calls} model calls in {run.wall_s:.0f}s ({d['finished']} debates finished in the store)")
        stance = getattr(run, "stance", None)
        if stance:
            console.print(f"stance: {stance.get('done', 0)} debates read now, {stance.get('skipped', 0)} already read, "
                          f"{stance.get('failed', 0)} failed (the report's 'Stance over the debate' table)")
        for line in getattr(run, "audits", []):
            console.print(line, highlight=False, markup=False)
