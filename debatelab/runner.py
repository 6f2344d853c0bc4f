"""`debatelab run`: an experiment's debates, then its judgments, resumable at any point.

Preflight first (every host and model), then every debate not yet finished in the store runs
concurrently under per-host call limits, grouped by model so an Ollama host does not swap
models back and forth. Finished debates are skipped; interrupted ones resume from their
checkpoints; a host that dies fails only the debates that needed it, and the summary says what
to re-run. Then judging, the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debatelab.agents.chat_model import make_chat_model, pool_label, resolve_host, single_host
from debatelab.agents.embedded.launcher import set_embedded_parallel
from debatelab.agents.host_pool import SwapAwareSlots, expect_calls, host_registry
from debatelab.agents.model_spec import EMBEDDED, ModelSpec
from debatelab.agents.preflight import pool_members, reported_digest, require_models
from debatelab.audit import audit_line, run_audit
from debatelab.base.errors import UserError
from debatelab.checkpoints import open_checkpointer
from debatelab.debate_runner import DebateOutcome, ModelFactory, chat_models_for, debate_id_for, run_debate
from debatelab.experiment import Experiment, repeat_config
from debatelab.graphs.config import DebateConfig
from debatelab.heap import freeze_startup_heap
from debatelab.judging_phase import StoredJudging, host_limiters
from debatelab.pairwise_phase import judge_pairs
from debatelab.progress import RunProgress
from debatelab.scenarios.pairs import available_pair_sets
from debatelab.scenarios.schema import Scenario
from debatelab.store import Store
from debatelab.swap_plan import dry_run_orders, load_plan


@dataclass
class DebateJob:
    kind: str
    config: DebateConfig
    scenario: Scenario
    repeat: int
    debate_id: str
    base_config: DebateConfig | None = None  # before the repeat's seed shift (ids hash the base)
    fingerprint: str = ""  # the configuration's, hashed once per configuration and repeat

    @property
    def model_group(self) -> tuple[str, ...]:
        return tuple(sorted({self.config.model_for(a).label for a in self.config.agents}))


@dataclass
class RunSummary:
    experiment: str
    debates_total: int = 0
    debates_skipped: int = 0
    debates_done: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    judgments: dict[str, int] = field(default_factory=dict)
    audits: list[str] = field(default_factory=list)  # one line per audited judge
    calls: int = 0
    wall_s: float = 0.0


def plan_debates(exp: Experiment) -> list[DebateJob]:
    jobs = []
    scenarios = exp.scenario_list()
    for kind, base in exp.debate_configs():
        # One configuration object and one hash per configuration and repeat, not per debate.
        fingerprint = base.fingerprint()
        repeats = [repeat_config(base, r) for r in range(exp.repeats)]
        prints = [fingerprint if cfg is base else cfg.fingerprint() for cfg in repeats]
        for scenario in scenarios:
            for r, cfg in enumerate(repeats):
                debate_id = debate_id_for(exp.name, base, scenario.id, r, fingerprint=fingerprint)
                jobs.append(DebateJob(kind, cfg, scenario, r, debate_id, base, prints[r]))
    # Group by the set of models a debate needs: one Ollama host then loads each model once.
    return sorted(jobs, key=lambda j: (j.model_group, j.config.name, j.scenario.id, j.repeat))


def judge_specs(exp: Experiment) -> list[ModelSpec]:
    if exp.judging is None:
        return []
    return [exp.pooled(j) for j in exp.judging.judge_specs()]


def keep_legacy_ids(exp: Experiment, jobs: list[DebateJob], store: Store) -> int:
    """Debates stored by debatelab 0.1 are keyed by an id that hashed their hosts too: where the
    store has a debate under that id and none under today's, keep the old id, so a 0.1 database
    and its checkpoints resume instead of repeating. Returns how many jobs kept one."""
    kept = 0
    legacy_prints: dict[int, str] = {}  # per configuration object, hashed once
    for job in jobs:
        base = job.base_config or job.config
        if id(base) not in legacy_prints:
            legacy_prints[id(base)] = base.fingerprint(legacy=True)
        legacy = debate_id_for(exp.name, base, job.scenario.id, job.repeat, legacy=True,
                               fingerprint=legacy_prints[id(base)])
        if legacy != job.debate_id and store.debate_status(job.debate_id) is None \
                and store.debate_status(legacy) is not None:
            job.debate_id = legacy
            kept += 1
    return kept


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`K/N` (1 <= K <= N) -> (K, N)."""
    if text is None:
        return None
    k, sep, n = text.partition("/")
    try:
        shard, count = int(k), int(n)
    except ValueError:
        shard = count = 0
    if not sep or not 1 <= shard <= count:
        raise UserError(f"--shard {text!r}: write K/N with 1 <= K <= N, e.g. --shard 2/8")
    return shard, count


def in_shard(debate_id: str, shard: tuple[int, int] | None) -> bool:
    """A debate's shard is a hash of its id: stable when scenarios or configurations are added."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(debate_id.encode()).hexdigest()[:8], 16) % n == k - 1


def refuse_self_judging(exp: Experiment, jobs: list[DebateJob]) -> None:
    """`judging.strict: true`: no judge may be of a model family that debates in the experiment."""
    if exp.judging is None or not exp.judging.strict:
        return
    debating = {family: job.config.name for job in jobs
                for family in (job.config.model_for(a).family for a in job.config.agents)}
    for judge in exp.judging.judge_specs():
        if judge.family in debating:
            raise UserError(f"{exp.source or exp.name}: field 'judging.strict': judge {judge.label} is of the model "
                            f"family '{judge.family}' that debates in configuration {debating[judge.family]!r}; use "
                            f"a judge of another family, or set strict: false (its scores may favour its own family)")


def debate_row(exp: Experiment, job: DebateJob, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "debate_id": job.debate_id, "experiment": exp.name, "config": job.config.name,
        "config_fingerprint": job.fingerprint or job.config.fingerprint(), "kind": job.kind, "topology": job.config.topology,
        "scenario_id": job.scenario.id, "scenario_set": exp.scenarios.set, "category": job.scenario.category,
        "motion": job.scenario.motion, "repeat": job.repeat, "status": status, "source": "run",
        "models": ",".join(job.model_group), **extra,
    }


def finished_rows(exp: Experiment, job: DebateJob, outcome: DebateOutcome, started: float
                  ) -> tuple[dict, list[dict], list[dict]]:
    turns = outcome.turns
    verdict = outcome.verdict or {}
    row = debate_row(
        exp, job, "finished", error=None, verdict_winner=verdict.get("winner"),
        verdict_confidence=verdict.get("confidence"), verdict=json.dumps(verdict), turns=len(turns),
        calls=sum(t.get("calls", 1) for t in turns), input_tokens=sum(t.get("input_tokens", 0) for t in turns),
        output_tokens=sum(t.get("output_tokens", 0) for t in turns),
        duration_s=round(sum(t.get("duration_s", 0.0) for t in turns), 3), started_at=started, finished_at=time.time(),
    )
    turn_rows, call_rows = [], []
    for i, t in enumerate(turns):
        turn_rows.append({
            "turn_id": f"{job.debate_id}:{i:03d}", "debate_id": job.debate_id, "idx": i, "round": t["round"],
            "role": t["role"], "agent": t["agent"], "model": t["model"], "stance": t.get("stance"),
            "kind": t.get("kind"), "text": t.get("text", ""), "thinking": t.get("thinking", ""),
            "input_tokens": t.get("input_tokens", 0), "output_tokens": t.get("output_tokens", 0),
            "duration_s": t.get("duration_s", 0.0), "done_reason": t.get("done_reason"),
            "truncated": int(t.get("done_reason") == "length"), "calls": t.get("calls", 1),
        })
        spec = job.config.model_for(t["agent"])
        call_rows.append({
            "call_id": f"{job.debate_id}:{i:03d}", "experiment": exp.name, "debate_id": job.debate_id,
            "judgment_id": None, "stage": "debate", "agent": t["agent"], "host": pool_label(spec),
            "model": spec.model, "digest": reported_digest(spec),
            "calls": t.get("calls", 1), "input_tokens": t.get("input_tokens", 0),
            "output_tokens": t.get("output_tokens", 0), "duration_s": t.get("duration_s", 0.0), "cached": 0,
        })
    return row, turn_rows, call_rows


async def install_swap_plans(todo: list[DebateJob], limiter_for: Any) -> dict[str, list[str]]:
    """Give every one-model-at-a-time host the order to load its models in (debatelab.swap_plan);
    returns each configuration's speaking order, from the dry run."""
    orders = await dry_run_orders([j.config for j in todo], todo[0].scenario)
    by_url: dict[str, list[list[str]]] = {}
    for job in todo:
        per_url: dict[str, list[str]] = {}
        for agent in orders.get(job.config.name) or []:
            spec = single_host(job.config.model_for(agent))
            if spec.pool:
                continue  # a pool's hosts each see part of its calls: no plan for them
            limiter_for(spec)  # registers the host with its limits before its slots are read
            per_url.setdefault(resolve_host(spec), []).append(spec.model)
        for url, sequence in per_url.items():
            by_url.setdefault(url, []).append(sequence)
    registry = host_registry()
    for url, sequences in by_url.items():
        slots = registry.host(url).slots
        if isinstance(slots, SwapAwareSlots):
            slots.follow(await asyncio.to_thread(load_plan, sequences))
    return orders


def total_slots(exp: Experiment, specs: list[ModelSpec]) -> int:
    """Calls the hosts these specs use can take at once, over every distinct host (pools included)."""
    urls: dict[str, bool] = {}
    for spec in specs:
        for member in pool_members(spec):
            urls.setdefault(resolve_host(member), member.host == EMBEDDED)
    return sum(exp.limit_for(url, embedded) for url, embedded in urls.items())


async def run_experiment(
    exp: Experiment, store: Store, checkpoints: Any, progress: RunProgress, *,
    model_factory: ModelFactory = make_chat_model, preflight: bool = True, shard: tuple[int, int] | None = None,
) -> RunSummary:
    """Run what is missing of `exp`. Tests inject scripted models with `model_factory` (no preflight)."""
    freeze_startup_heap()
    started = time.monotonic()
    summary = RunSummary(exp.name)
    if exp.kind != "debates":
        raise UserError(f"{exp.source}: field 'kind': {exp.kind!r} experiments are not supported by this runner")
    jobs = plan_debates(exp)
    refuse_self_judging(exp, jobs)
    keep_legacy_ids(exp, jobs, store)
    jobs = [j for j in jobs if in_shard(j.debate_id, shard)]
    judges = judge_specs(exp)
    rubric = exp.rubric()
    audit_pairs = exp.audit_pairs()
    set_embedded_parallel(exp.concurrency.get("embedded", 2))
    all_specs = [j.config.model_for(a) for j in jobs for a in j.config.agents] + judges
    if preflight:
        for warning in require_models(all_specs, resolve_host):
            progress.log(f"[yellow]warning:[/yellow] {warning}")
    store.upsert_experiment(exp.name, description=exp.description, kind=exp.kind, spec=exp.spec_dict(),
                            source_file=str(exp.source or ""))
    limiter_for = host_limiters(exp.limit_for, exp.max_loaded_for)
    summary.debates_total = len(jobs)
    todo = [j for j in jobs if store.debate_status(j.debate_id) != "finished"]
    summary.debates_skipped = len(jobs) - len(todo)
    progress.stage("debates", total=len(jobs), done=summary.debates_skipped)
    # At most as many debates in flight as the hosts have slots in total (more would only queue);
    # with a swap-aware host, every debate, so that one model load serves all of them.
    swapping = any(exp.max_loaded_for(resolve_host(m), m.host == EMBEDDED) is not None
                   for s in all_specs for m in pool_members(s))
    slots = asyncio.Semaphore(max(1, len(todo) if swapping else total_slots(exp, all_specs)))
    orders: dict[str, list[str]] = {}
    if swapping and todo:
        orders = await install_swap_plans(todo, limiter_for)
        # every debate starts at once: mark them running in one transaction
        began_all = time.time()
        store.mark_debates([debate_row(exp, j, "running", started_at=began_all, error=None) for j in todo])

    async with open_checkpointer(checkpoints) as saver:
        async def one(job: DebateJob) -> None:
            async with slots:
                began = time.time()
                if not swapping:
                    store.mark_debate(debate_row(exp, job, "running", started_at=began, error=None))
                limits = {a: limiter_for(job.config.model_for(a)) for a in job.config.agents}
                order = orders.get(job.config.name) or []  # the models it will call, in order (swap hosts)
                expect_calls(len(job.config.agents) * (job.config.rounds or 1),
                             [job.config.model_for(a).model for a in order] or None)
                try:
                    scripted = None if model_factory is make_chat_model else chat_models_for(job.config, model_factory)
                    outcome = await run_debate(job.config, job.scenario, checkpointer=saver, models=scripted,
                                               debate_id=job.debate_id, limits=limits, experiment=exp.name,
                                               repeat=job.repeat, fingerprint=job.fingerprint or None)
                except UserError as exc:
                    store.mark_debate(debate_row(exp, job, "failed", error=str(exc), started_at=began))
                    summary.failed.append({"debate_id": job.debate_id, "config": job.config.name,
                                           "scenario": job.scenario.id, "error": str(exc)})
                    progress.log(f"[red]failed[/red] {job.config.name} / {job.scenario.id}: {exc}")
                    return
                row, turns, calls = finished_rows(exp, job, outcome, began)
                store.write_finished_debate(row, turns, calls)
                if judging is not None:
                    judging.submit(row)  # judged now, while other debates still run
                new_calls = sum(t.get("calls", 1) for t in outcome.new_turns)
                summary.calls += new_calls
                progress.count_calls(new_calls, sum(t.get("output_tokens", 0) for t in outcome.new_turns))
                summary.debates_done += 1
                progress.advance("debates")

        judging = None
        if rubric is not None and exp.judging is not None:
            judging = StoredJudging(
                store, exp.name, rubric, judges, samples=exp.judging.samples, permute=exp.judging.permute,
                saver=saver, limiter_for=limiter_for, progress=progress, max_attempts=exp.judging.max_attempts,
                model_factory=model_factory, in_flight=total_slots(exp, judges), expected_debates=len(jobs))
        await asyncio.gather(*(one(j) for j in todo))
        if judging is not None:
            summary.judgments = await judging.finish()
        if rubric is not None and exp.judging is not None and exp.judging.pairwise:
            result = await judge_pairs(
                store, exp.name, rubric, judges, saver=saver, model_factory=model_factory, limiter_for=limiter_for,
                progress=progress, against=exp.judging.against, max_attempts=exp.judging.max_attempts)
            summary.judgments["pairwise"] = result["done"] + result["skipped"]
        if audit_pairs and exp.judging is not None and exp.judging.audit is not None:
            spec = exp.judging.audit
            set_name = spec.set if spec.set in available_pair_sets() else Path(spec.set).stem
            for judge in {j.model: j for j in judges}.values():
                await run_audit(store, judge, model_factory(judge), audit_pairs, pair_set=set_name, seed=spec.seed,
                                progress=progress, limiter=limiter_for(judge), max_attempts=exp.judging.max_attempts)
                summary.audits.append(audit_line(store.latest_audit(judge.model), judge.model))
    summary.calls = progress.calls
    summary.wall_s = round(time.monotonic() - started, 2)
    return summary
