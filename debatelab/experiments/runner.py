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

from rich.markup import escape

from debatelab.agents import (
    EMBEDDED,
    ModelSpec,
    SwapAwareSlots,
    expect_calls,
    host_registry,
    make_chat_model,
    pool_label,
    pool_members,
    reported_digest,
    require_models,
    resolve_host,
    set_embedded_parallel,
    single_host,
)
from debatelab.base import UserError
from debatelab.experiments.debate import DebateOutcome, ModelFactory, chat_models_for, debate_id_for, run_debate
from debatelab.experiments.spec import DebatesExperiment, repeat_config
from debatelab.experiments.swap_plan import dry_run_orders, load_plan
from debatelab.graphs import TURN_DEFAULTS, TURN_FIELDS, DebateConfig
from debatelab.judging import (
    StanceReadings,
    StoredJudging,
    audit_line,
    family_warnings,
    judge_pairs,
    run_audit,
)
from debatelab.runtime import Failures, LimiterFor, RunProgress, host_limiters
from debatelab.scenarios import PairSet, Scenario
from debatelab.store import Store, open_checkpointer


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
    """What a run did: debates run and skipped, judgments, audits, calls, time, and every item that
    failed (by stage: debates, judgments, pairwise, audit, questions)."""

    experiment: str
    debates_total: int = 0
    debates_skipped: int = 0
    debates_done: int = 0
    failures: Failures = field(default_factory=Failures)
    judgments: dict[str, int] = field(default_factory=dict)
    stance: dict[str, int] = field(default_factory=dict)  # debates read for stance (with a `stance:` section)
    audits: list[str] = field(default_factory=list)  # one line per audited judge
    calls: int = 0
    wall_s: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def as_json(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "debates_total": self.debates_total,
                "debates_run": self.debates_done, "debates_skipped": self.debates_skipped,
                "judgments": self.judgments, "stance": self.stance, "audits": self.audits, "calls": self.calls,
                "wall_s": self.wall_s, "failed": self.failures.as_json()}


def plan_debates(exp: DebatesExperiment) -> list[DebateJob]:
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


def judge_specs(exp: DebatesExperiment) -> list[ModelSpec]:
    if exp.judging is None:
        return []
    return [exp.pooled(j) for j in exp.judging.judge_specs()]


def keep_legacy_ids(exp: DebatesExperiment, jobs: list[DebateJob], store: Store) -> int:
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


def judge_family_warnings(exp: DebatesExperiment, jobs: list[DebateJob]) -> list[str]:
    """Judges of a model family that debates in the experiment: warnings, or with
    `judging.strict: true` an error naming the field."""
    if exp.judging is None:
        return []
    debaters = {job.config.model_for(a).model: f"configuration {job.config.name!r}"
                for job in jobs for a in job.config.agents}
    try:
        return family_warnings(exp.judging.judge_specs(), debaters, strict=exp.judging.strict,
                               refuse_hint="judging.strict: true refuses such a judge")
    except UserError as exc:
        raise UserError(f"{exp.source or exp.name}: field 'judging.strict': {exc}") from None


def debate_row(exp: DebatesExperiment, job: DebateJob, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "debate_id": job.debate_id, "experiment": exp.name, "config": job.config.name,
        "config_fingerprint": job.fingerprint or job.config.fingerprint(), "kind": job.kind, "topology": job.config.topology,
        "scenario_id": job.scenario.id, "scenario_set": exp.scenarios.set, "category": job.scenario.category,
        "motion": job.scenario.motion, "repeat": job.repeat, "status": status, "source": "run",
        "models": ",".join(job.model_group), **extra,
    }


def finished_rows(exp: DebatesExperiment, job: DebateJob, outcome: DebateOutcome, started: float
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
            "turn_id": f"{job.debate_id}:{i:03d}", "debate_id": job.debate_id, "idx": i,
            **{f: t.get(f, TURN_DEFAULTS.get(f)) for f in TURN_FIELDS},
            "truncated": int(t.get("done_reason") == "length"),
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


async def install_swap_plans(todo: list[DebateJob], limiter_for: LimiterFor,
                             progress: RunProgress | None = None) -> dict[str, list[str]]:
    """Give every one-model-at-a-time host the order to load its models in (`swap_plan`); returns
    each configuration's speaking order, from the dry run."""
    orders = await dry_run_orders([j.config for j in todo], todo[0].scenario,
                                  on_unplanned=(lambda line: progress.log(f"[yellow]note:[/yellow] {line}"))
                                  if progress is not None else None)
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


def total_slots(exp: DebatesExperiment, specs: list[ModelSpec]) -> int:
    """Calls the hosts these specs use can take at once, over every distinct host (pools included)."""
    urls: dict[str, bool] = {}
    for spec in specs:
        for member in pool_members(spec):
            urls.setdefault(resolve_host(member), member.host == EMBEDDED)
    return sum(exp.limit_for(url, embedded) for url, embedded in urls.items())


async def run_experiment(
    exp: DebatesExperiment, store: Store, checkpoints: str | Path, progress: RunProgress, *,
    model_factory: ModelFactory = make_chat_model, preflight: bool = True, shard: tuple[int, int] | None = None,
) -> RunSummary:
    """Run what is missing of `exp`: debates, their judgments and stance readings (pipelined), pairwise
    comparisons and judge audits. An item that fails is recorded in the summary's `failures`;
    everything else goes on. Tests inject scripted models with `model_factory` (no preflight)."""
    started = time.monotonic()
    summary = RunSummary(exp.name)
    jobs = plan_debates(exp)
    for warning in judge_family_warnings(exp, jobs):
        progress.log(f"[yellow]warning:[/yellow] {warning}")
    keep_legacy_ids(exp, jobs, store)
    # What the current spec plans (every shard records the whole plan): the tables read these
    # debates only; a changed spec's old debates stay stored but never enter them.
    planned = sorted(j.debate_id for j in jobs)
    jobs = [j for j in jobs if in_shard(j.debate_id, shard)]
    judges = judge_specs(exp)
    rubric = exp.rubric()
    audit_pairs = exp.audit_pairs()
    set_embedded_parallel(exp.limit_for(EMBEDDED, True))
    reader = exp.pooled(exp.stance.reader_spec()) if exp.stance is not None else None
    all_specs = [j.config.model_for(a) for j in jobs for a in j.config.agents] + judges + ([reader] if reader else [])
    if preflight:
        for warning in require_models(all_specs, resolve_host):
            progress.log(f"[yellow]warning:[/yellow] {warning}")
    store.upsert_experiment(exp.name, description=exp.description, kind=exp.kind,
                            spec={**exp.spec_dict(), "planned_debates": planned}, source_file=str(exp.source or ""))
    limiter_for = host_limiters(exp.limit_for, exp.max_loaded_for)
    summary.debates_total = len(jobs)
    todo = [j for j in jobs if store.debate_status(j.debate_id) != "finished"]
    summary.debates_skipped = len(jobs) - len(todo)
    progress.stage("debates", total=len(jobs), done=summary.debates_skipped)

    async with open_checkpointer(checkpoints) as saver:
        judging = None
        if rubric is not None and exp.judging is not None:
            judging = StoredJudging(
                store, exp.name, rubric, judges, samples=exp.judging.samples, permute=exp.judging.permute,
                saver=saver, limiter_for=limiter_for, progress=progress, failures=summary.failures,
                max_attempts=exp.judging.max_attempts, model_factory=model_factory, in_flight=total_slots(exp, judges),
                expected_debates=len(jobs), prompt_version=exp.judging.prompt_version,
                criteria_at_once=exp.judging.criteria_at_once)
        stance = None
        if reader is not None:
            assert exp.stance is not None
            stance = StanceReadings(store, exp.name, reader, limiter_for=limiter_for, progress=progress,
                                    failures=summary.failures, max_attempts=exp.stance.max_attempts,
                                    model_factory=model_factory, in_flight=total_slots(exp, [reader]),
                                    expected_debates=len(jobs))
        # The judge audit needs no debate: it runs beside them, filling the slots a debate leaves idle.
        audit = asyncio.create_task(run_judge_audits(exp, store, judges, audit_pairs, model_factory, limiter_for,
                                                     progress, summary))
        debates = DebatePhase(exp, store, saver, progress, summary, limiter_for, model_factory, judging, stance)
        try:
            await debates.run(todo, all_specs)
            if judging is not None:
                summary.judgments = await judging.finish()
            if stance is not None:
                summary.stance = await stance.finish()
            if rubric is not None and exp.judging is not None and exp.judging.pairwise:
                result = await judge_pairs(
                    store, exp.name, rubric, judges, saver=saver, model_factory=model_factory, limiter_for=limiter_for,
                    progress=progress, failures=summary.failures, against=exp.judging.against,
                    max_attempts=exp.judging.max_attempts)
                summary.judgments["pairwise"] = result["done"] + result["skipped"]
        finally:
            await audit
    summary.calls = progress.calls
    summary.wall_s = round(time.monotonic() - started, 2)
    return summary


async def run_judge_audits(exp: DebatesExperiment, store: Store, judges: list[ModelSpec], pairs: PairSet | None,
                           model_factory: ModelFactory, limiter_for: LimiterFor, progress: RunProgress,
                           summary: RunSummary) -> None:
    """Each judge model's audit on the experiment's labelled pairs (`judging.audit`), one line each."""
    if pairs is None or exp.judging is None or exp.judging.audit is None:
        return
    for judge in {j.model: j for j in judges}.values():
        await run_audit(store, judge, model_factory(judge), pairs, seed=exp.judging.audit.seed, progress=progress,
                        failures=summary.failures, limiter=limiter_for(judge), max_attempts=exp.judging.max_attempts)
        summary.audits.append(audit_line(store.latest_audit(judge.model), judge.model))


class DebatePhase:
    """An experiment's debates still to run, all in flight under the hosts' call limits; each one
    stored when it finishes and handed to judging at once."""

    def __init__(self, exp: DebatesExperiment, store: Store, saver: Any, progress: RunProgress, summary: RunSummary,
                 limiter_for: LimiterFor, model_factory: ModelFactory, judging: StoredJudging | None,
                 stance: StanceReadings | None = None) -> None:
        self.exp, self.store, self.saver, self.progress, self.summary = exp, store, saver, progress, summary
        self.limiter_for, self.model_factory, self.judging, self.stance = limiter_for, model_factory, judging, stance
        self.orders: dict[str, list[str]] = {}
        self.swapping = False

    async def run(self, todo: list[DebateJob], all_specs: list[ModelSpec]) -> None:
        exp = self.exp
        # At most as many debates in flight as the hosts have slots in total (more would only queue);
        # with a swap-aware host, every debate, so that one model load serves all of them.
        self.swapping = any(exp.max_loaded_for(resolve_host(m), m.host == EMBEDDED) is not None
                            for s in all_specs for m in pool_members(s))
        slots = asyncio.Semaphore(max(1, len(todo) if self.swapping else total_slots(exp, all_specs)))
        if self.swapping and todo:
            self.orders = await install_swap_plans(todo, self.limiter_for, self.progress)
            # every debate starts at once: mark them running in one transaction
            began_all = time.time()
            self.store.mark_debates([debate_row(exp, j, "running", started_at=began_all, error=None) for j in todo])

        async def guarded(job: DebateJob) -> None:
            async with slots:
                await self.one(job)

        await asyncio.gather(*(guarded(j) for j in todo))

    async def one(self, job: DebateJob) -> None:
        exp, store = self.exp, self.store
        began = time.time()
        if not self.swapping:
            store.mark_debate(debate_row(exp, job, "running", started_at=began, error=None))
        limits = {a: self.limiter_for(job.config.model_for(a)) for a in job.config.agents}
        order = self.orders.get(job.config.name) or []  # the models it will call, in order (swap hosts)
        expect_calls(len(job.config.agents) * (job.config.rounds or 1),
                     [job.config.model_for(a).model for a in order] or None)
        try:
            scripted = None if self.model_factory is make_chat_model else chat_models_for(job.config, self.model_factory)
            outcome = await run_debate(job.config, job.scenario, checkpointer=self.saver, models=scripted,
                                       debate_id=job.debate_id, limits=limits, experiment=exp.name,
                                       repeat=job.repeat, fingerprint=job.fingerprint or None)
        except Exception as exc:
            failure = self.summary.failures.record(
                "debates", f"{job.config.name} / {job.scenario.id} #{job.repeat} ({job.debate_id})", exc)
            store.mark_debate(debate_row(exp, job, "failed", error=failure.reason, started_at=began))
            self.progress.log(f"[red]failed[/red] {escape(failure.item)}: {escape(failure.reason)}")
            return
        row, turns, calls = finished_rows(exp, job, outcome, began)
        store.write_finished_debate(row, turns, calls)
        if self.judging is not None:
            self.judging.submit(row)  # judged now, while other debates still run
        if self.stance is not None:
            self.stance.submit(row)
        new_calls = sum(t.get("calls", 1) for t in outcome.new_turns)
        self.summary.calls += new_calls
        self.progress.count_calls(new_calls, sum(t.get("output_tokens", 0) for t in outcome.new_turns))
        self.summary.debates_done += 1
        self.progress.advance("debates")
