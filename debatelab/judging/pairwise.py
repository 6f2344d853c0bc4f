"""Pairwise judging of an experiment's debates: plan the pairs, run the pairwise graph in both
orders (checkpointed, resumable), store the verdicts, and rate the configurations.

Each ensemble debate is compared with its matched baseline debates (same scenario and repeat), or
with every debate of another configuration on the same scenario and repeat (`against="all"`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from debatelab.agents import ModelSpec, affinity, bind_run
from debatelab.base import UserError
from debatelab.graphs import JUDGE_AGENT, JudgeContext, compile_pairwise, has_pending_work
from debatelab.judging.audit import ORDERS
from debatelab.judging.stored import stored_transcript
from debatelab.rubric import Rubric
from debatelab.runtime import Failures, LimiterFor, RunProgress, tracing_guard
from debatelab.store import Store, iso_timestamp

Against = Literal["baseline", "all"]


def plan_pairs(store: Store, experiment: str, against: Against = "baseline") -> list[tuple[dict, dict]]:
    """(a, b) debate rows to compare; a is the ensemble (or the earlier configuration by name)."""
    debates = store.debates(experiment, finished_only=True)
    by_unit: dict[tuple[str, int], list[dict]] = {}
    for d in debates:
        by_unit.setdefault((d["scenario_id"], d["repeat"]), []).append(d)
    pairs = []
    for unit in sorted(by_unit):
        group = sorted(by_unit[unit], key=lambda d: d["config"])
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if a["config"] == b["config"]:
                    continue
                if against == "baseline":
                    kinds = {a["kind"], b["kind"]}
                    if kinds != {"ensemble", "baseline"}:
                        continue
                    if a["kind"] == "baseline":
                        a, b = b, a
                pairs.append((a, b))
    return pairs


async def judge_pairs(
    store: Store, experiment: str, rubric: Rubric, judges: list[ModelSpec], *, saver: Any,
    model_factory: Callable[[ModelSpec], Any], limiter_for: LimiterFor, progress: RunProgress,
    failures: Failures | None = None, against: Against = "baseline", max_attempts: int = 3, in_flight: int = 2,
) -> dict[str, int]:
    """Judge every planned pair in both orders that the store lacks; a pair whose calls fail is
    recorded in `failures` (stage "pairwise") with its reason and retried by the next run."""
    pairs = plan_pairs(store, experiment, against)
    if not pairs:
        raise UserError(f"experiment {experiment!r} has no pairs to compare against {against!r} (pairwise judging "
                        f"needs finished debates of two configurations on the same scenario and repeat)")
    done = store.finished_pair_judgments(experiment)
    jobs = [(a, b, j, o) for a, b in pairs for j in judges for o in ORDERS
            if _judgment_id(a, b, rubric, j, o) not in done]
    progress.stage("pairwise", total=len(pairs) * len(judges) * 2, done=len(pairs) * len(judges) * 2 - len(jobs))
    graph = compile_pairwise(saver)
    slots = asyncio.Semaphore(max(1, in_flight))
    models = {j.label: model_factory(j) for j in judges}
    failures = failures if failures is not None else Failures()
    failures.clear_stage("pairwise")

    async def one(a: dict, b: dict, judge: ModelSpec, order: str) -> None:
        jid = _judgment_id(a, b, rubric, judge, order)
        cfg = {"configurable": {"thread_id": f"pair:{jid}"}, "recursion_limit": 40, "max_concurrency": 1,
               "run_name": f"pairwise {a['config']} vs {b['config']} · {a['scenario_id']} · {order}",
               "tags": ["debatelab", "pairwise", f"judge:{judge.label}"],
               "metadata": {"experiment": experiment, "debate_a": a["debate_id"], "debate_b": b["debate_id"],
                            "rubric": rubric.id, "rubric_version": rubric.version, "judge": judge.identity,
                            "order": order}}
        try:
            async with slots:
                snapshot = await graph.aget_state(cfg)
                graph_input = None if has_pending_work(snapshot) else {
                    "pair_id": jid, "transcript_a": stored_transcript(store, a).model_dump(),
                    "transcript_b": stored_transcript(store, b).model_dump(), "rubric": rubric.model_dump(),
                    "order": order, "verdicts": []}
                if snapshot.values.get("verdicts") and not has_pending_work(snapshot):
                    values = snapshot.values
                else:
                    with bind_run({JUDGE_AGENT: models[judge.label]}, {JUDGE_AGENT: limiter_for(judge)}), \
                            tracing_guard(), affinity(f"pair:{a['debate_id']}:{b['debate_id']}:{judge.identity}"):
                        values = await graph.ainvoke(graph_input, cfg, context=JudgeContext(
                            judge=judge.model_dump(exclude_none=True), max_attempts=max_attempts), durability="sync")
        except Exception as exc:
            failure = failures.record("pairwise", f"{a['config']} vs {b['config']} on {a['scenario_id']} "
                                                  f"#{a['repeat']} ({order}, {judge.label})", exc)
            progress.log(f"[red]pairwise failed[/red] {failure.item}: {failure.reason}")
            return
        row = {"pair_judgment_id": jid, "experiment": experiment, "pair_key": f"{a['debate_id']}|{b['debate_id']}",
               "debate_a": a["debate_id"], "debate_b": b["debate_id"], "config_a": a["config"],
               "config_b": b["config"], "scenario_id": a["scenario_id"], "repeat": a["repeat"], "rubric": rubric.id,
               "rubric_version": rubric.version, "judge": judge.identity, "ord": order, "finished_at": iso_timestamp()}
        verdicts = [{"verdict_id": f"{jid}:{v['criterion']}", "pair_judgment_id": jid, "experiment": experiment,
                     **{k: v[k] for k in ("criterion", "winner", "reasons", "unscored_reason", "attempts",
                                          "input_tokens", "output_tokens", "duration_s")}}
                    for v in values["verdicts"]]
        store.write_pair_judgment(row, verdicts)
        progress.count_calls(sum(v["attempts"] for v in verdicts), sum(v["output_tokens"] for v in verdicts))
        progress.advance("pairwise")

    await asyncio.gather(*(one(*job) for job in jobs))
    failed = len(failures.in_stage("pairwise"))
    return {"total": len(pairs) * len(judges) * 2, "done": len(jobs) - failed, "failed": failed,
            "skipped": len(pairs) * len(judges) * 2 - len(jobs)}


def _judgment_id(a: dict, b: dict, rubric: Rubric, judge: ModelSpec, order: str) -> str:
    return f"{a['debate_id']}:{b['debate_id']}:{rubric.label}:{judge.identity}:{order}"
