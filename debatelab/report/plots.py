"""The report's plots (matplotlib, embedded as base64 PNG): where the scores lie, not only their means."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from debatelab.rubric import OVERALL  # noqa: E402

HEATMAP_LABELLED_ROWS = 40



def finish_axes(fig: Any, ax: Any, xlabel: str, ylabel: str, title: str) -> str:
    """Label a plot, add its legend, and encode it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.set_title(title)
    return png(fig)


def accuracy_axes(fig: Any, ax: Any, xlabel: str, ylabel: str, title: str) -> str:
    """As `finish_axes`, for a y axis that is an accuracy (0 to 1)."""
    ax.set_ylim(0, 1)
    return finish_axes(fig, ax, xlabel, ylabel, title)

def png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def plot_groups(a: dict[str, Any]) -> str | None:
    groups = a.get("groups") or {}
    if not groups:
        return None
    metrics = a["metrics"]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(metrics)), 3.6))
    width = 0.38
    for k, (kind, color) in enumerate((("baseline", "#9aa5b1"), ("ensemble", "#3b6fd4"))):
        if kind not in groups:
            continue
        means = [groups[kind][m]["mean"] or 0 for m in metrics]
        lo = [max(0, (groups[kind][m]["mean"] or 0) - (groups[kind][m]["ci_low"] or groups[kind][m]["mean"] or 0))
              for m in metrics]
        hi = [max(0, (groups[kind][m]["ci_high"] or groups[kind][m]["mean"] or 0) - (groups[kind][m]["mean"] or 0))
              for m in metrics]
        xs = [i + (k - 0.5) * width for i in range(len(metrics))]
        ax.bar(xs, means, width, yerr=[lo, hi], capsize=3, label=kind, color=color)
    ax.set_xticks(range(len(metrics)), [m.replace("_", "\n") for m in metrics], fontsize=8)
    ax.set_ylabel("mean score (95% CI)")
    ax.legend()
    ax.set_title("Baseline vs ensemble, overall and per criterion")
    return png(fig)


def plot_cost(a: dict[str, Any]) -> str | None:
    cost = [c for c in a.get("cost", []) if c["mean_overall"] is not None]
    if not cost:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    kinds = {e["config"]: e["kind"] for e in a.get("per_config", [])}
    for c in cost:
        color = "#3b6fd4" if kinds.get(c["config"]) == "ensemble" else "#9aa5b1"
        ax.scatter(c["seconds_per_debate"], c["mean_overall"], color=color, s=40)
        ax.annotate(c["config"], (c["seconds_per_debate"], c["mean_overall"]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("model seconds per debate")
    ax.set_ylabel("mean overall score")
    ax.set_title("Cost vs quality")
    return png(fig)


def scored_debates(a: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The debates with an overall score, and the configurations in the analysis's order."""
    rows = [r for r in a.get("per_debate", []) if r[OVERALL] is not None]
    return rows, [e["config"] for e in a.get("per_config", [])]


def plot_distributions(a: dict[str, Any]) -> str | None:
    """Box plots of per-debate overall scores per configuration, with every debate as a dot."""
    rows, configs = scored_debates(a)
    if not rows:
        return None
    data = [[r[OVERALL] for r in rows if r["config"] == c] for c in configs]
    keep = [(c, d) for c, d in zip(configs, data, strict=True) if d]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(keep)), 3.8))
    ax.boxplot([d for _, d in keep], showmeans=True)
    kinds = {e["config"]: e["kind"] for e in a.get("per_config", [])}
    for i, (c, d) in enumerate(keep, start=1):
        color = "#3b6fd4" if kinds.get(c) == "ensemble" else "#7b8794"
        jitter = [i + 0.08 * ((k % 5) - 2) for k in range(len(d))]
        ax.scatter(jitter, d, s=9, alpha=0.5, color=color, zorder=3)
    ax.set_xticks(range(1, len(keep) + 1), [c for c, _ in keep], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("overall score per debate")
    ax.set_title("Score distributions per configuration (box: quartiles, triangle: mean)")
    return png(fig)


def plot_heatmap(a: dict[str, Any]) -> str | None:
    """Mean overall score per scenario (rows) and configuration (columns); blank = unscored."""
    rows, configs = scored_debates(a)
    if not rows:
        return None
    scenarios = sorted({r["scenario_id"] for r in rows})
    cells: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        cells.setdefault((r["scenario_id"], r["config"]), []).append(r[OVERALL])
    matrix = [[sum(v) / len(v) if (v := cells.get((s, c))) else float("nan") for c in configs] for s in scenarios]
    # The figure grows with the scenarios only up to HEATMAP_LABELLED_ROWS rows; past that every
    # k-th scenario is labelled, so 500 scenarios cost a readable picture, not a 17,000-pixel PNG
    # (which took 3 s and 200 MB of the report's memory).
    shown_rows = min(len(scenarios), HEATMAP_LABELLED_ROWS)
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(configs) + 2), max(2.5, 0.32 * shown_rows + 1.2)))
    image = ax.imshow(matrix, aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="mean overall")
    ax.set_xticks(range(len(configs)), configs, rotation=30, ha="right", fontsize=8)
    step = -(-len(scenarios) // HEATMAP_LABELLED_ROWS)
    ax.set_yticks(range(0, len(scenarios), step), scenarios[::step], fontsize=7)
    if step > 1:
        ax.set_ylabel(f"{len(scenarios)} scenarios (1 in {step} labelled)")
    if len(scenarios) * len(configs) <= 400:
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                if v == v:
                    ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=6, color="white")
    ax.set_title("Overall score: scenario x configuration")
    return png(fig)


def plot_rounds(results: dict[str, Any]) -> str | None:
    """Accuracy per round (mean over agents and the majority vote), with the baselines as lines."""
    rounds = results.get("dynamics", {}).get("rounds") or []
    if not rounds:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    xs = [r["round"] for r in rounds]
    ax.plot(xs, [r["accuracy"] for r in rounds], marker="o", label="agents (mean)", color="#3b6fd4")
    ax.plot(xs, [r["vote_accuracy"] for r in rounds], marker="s", label="majority vote", color="#1d2430")
    for b, color in zip(results.get("baselines", []), ("#9aa5b1", "#d4883b", "#5b9b4a"), strict=False):
        if b.get("accuracy") is not None:
            ax.axhline(b["accuracy"], linestyle="--", color=color, label=f"{b['method']} (baseline)")
    ax.set_xticks(xs)
    return accuracy_axes(fig, ax, "round", "accuracy", "Debate on labelled questions, round by round")


def plot_oversight_accuracy(results: dict[str, Any]) -> str | None:
    """Judge accuracy per protocol (whole set), one bar per judge, with Wilson intervals."""
    rows = [r for r in results.get("oversight", []) if not r.get("side") and r["accuracy"] is not None]
    if not rows:
        return None
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    judges = list(dict.fromkeys(r["judge"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(protocols) * max(1, len(judges) / 2)), 3.6))
    width = 0.8 / len(judges)
    for k, judge in enumerate(judges):
        mine = {r["protocol"]: r for r in rows if r["judge"] == judge}
        xs = [i + k * width for i, p in enumerate(protocols) if p in mine]
        ys = [mine[p]["accuracy"] for p in protocols if p in mine]
        # No interval (one story: no variance between clusters can be estimated): a bar without whiskers.
        err = [[mine[p]["accuracy"] - mine[p]["ci_low"] if mine[p]["ci_low"] is not None else 0.0
                for p in protocols if p in mine],
               [mine[p]["ci_high"] - mine[p]["accuracy"] if mine[p]["ci_high"] is not None else 0.0
                for p in protocols if p in mine]]
        ax.bar(xs, ys, width=width, yerr=err, capsize=3, label=judge)
    ax.axhline(0.5, linestyle=":", color="#9aa5b1", label="chance (two options)")
    ax.set_xticks([i + width * (len(judges) - 1) / 2 for i in range(len(protocols))])
    ax.set_xticklabels(protocols, rotation=15, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("judge accuracy")
    ax.legend(fontsize=7)
    ax.set_title("Judge accuracy by protocol (95% intervals, clustered by passage)")
    return png(fig)


def plot_beliefs(results: dict[str, Any]) -> str | None:
    """The judge's belief on the correct answer round by round, one line per protocol, setting and
    judge, with the clustered intervals as bands."""
    rows = [r for r in (results.get("beliefs") or {}).get("rounds", []) if r["mean_p_correct"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    keys = list(dict.fromkeys((r["protocol"], r["debaters"], r["judge"]) for r in rows))
    for key in keys:
        mine = sorted((r for r in rows if (r["protocol"], r["debaters"], r["judge"]) == key),
                      key=lambda r: r["after_round"])
        xs = [r["after_round"] for r in mine]
        label = " · ".join(x for x in (key[0], f"{key[1]} debaters" if key[1] else "", key[2]) if x)
        line = ax.plot(xs, [r["mean_p_correct"] for r in mine], marker="o", label=label)[0]
        if all(r["ci_low"] is not None for r in mine):
            ax.fill_between(xs, [r["ci_low"] for r in mine], [r["ci_high"] for r in mine], alpha=0.15,
                            color=line.get_color())
    ax.axhline(0.5, linestyle=":", color="#9aa5b1")
    return accuracy_axes(fig, ax, "after round", "mean P(correct answer)", "The judge's belief, round by round")


def plot_judge_sweep(results: dict[str, Any]) -> str | None:
    """Gain over naive (per protocol) against the judge's own naive accuracy, with intervals."""
    rows = [r for r in results.get("judge_sweep") or [] if r["gain"] is not None
            and r["judge_naive_accuracy"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for protocol in dict.fromkeys(r["protocol"] for r in rows):
        mine = [r for r in rows if r["protocol"] == protocol]
        err = [[r["gain"] - r["ci_low"] if r["ci_low"] is not None else 0.0 for r in mine],
               [r["ci_high"] - r["gain"] if r["ci_high"] is not None else 0.0 for r in mine]]
        ax.errorbar([r["judge_naive_accuracy"] for r in mine], [r["gain"] for r in mine], yerr=err, marker="o",
                    capsize=3, label=protocol)
    ax.axhline(0, linestyle=":", color="#9aa5b1")
    return finish_axes(fig, ax, "the judge's naive accuracy (judge strength)", "accuracy gain over naive",
                       "Judge-strength sweep (95% intervals, clustered by passage)")


def plot_reliability(results: dict[str, Any]) -> str | None:
    """Stated probability against observed accuracy, per judge over all protocols."""
    curves = [c for c in results.get("calibration", []) if c["protocol"] == "all" and c["bins"]]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.plot([0, 1], [0, 1], linestyle=":", color="#9aa5b1", label="perfect calibration")
    for c in curves:
        ax.plot([b["stated"] for b in c["bins"]], [b["observed"] for b in c["bins"]], marker="o",
                label=f"{c['judge']} (Brier {c['brier']})")
    ax.set_xlim(0, 1)
    return accuracy_axes(fig, ax, "stated probability of the chosen answer", "share correct", "Judge calibration")


def plot_rating_accuracy(results: dict[str, Any]) -> str | None:
    """Khan et al.'s central figure: judge accuracy in a debater's self-play against its rating."""
    points = []
    for r in results.get("ratings", []):
        if r.get("protocol", "debate") != "debate":  # protocol-pure: only debate plays every pairing
            continue
        strengths = {x["name"]: x["strength"] for x in r.get("aggregate") or r.get("overall", [])}
        for name, accuracy in (r.get("self_play_accuracy") or {}).items():
            if name in strengths and accuracy is not None:
                points.append((r["judge"], name, strengths[name], accuracy))
    if len(points) < 2:
        return None
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    for judge in dict.fromkeys(p[0] for p in points):
        mine = [p for p in points if p[0] == judge]
        ax.scatter([p[2] for p in mine], [p[3] for p in mine], label=judge)
        for p in mine:
            ax.annotate(p[1], (p[2], p[3]), fontsize=7)
    return accuracy_axes(fig, ax, "debater rating (Khan's aggregate Bradley-Terry log-strength)",
                         "judge accuracy (self-play, debate)",
                         "More persuasive debaters, better judges?")
