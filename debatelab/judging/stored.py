"""Judging stored debates: every (debate, judge, sample) not yet in the store, then reliability.

Used by `debatelab run` after its debates and by `debatelab judge --experiment`; transcripts are
read back from the store, so re-judging never re-runs a debate and imported debates are judged
like our own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from debatelab.agents import ModelSpec, make_chat_model, pool_label, reported_digest
from debatelab.analysis import ScoreRow, flip_rate, reliability_summary, unscored_rate
from debatelab.graphs import Transcript
from debatelab.judging.absolute import JudgmentOutcome, judgment_id_for, run_judgment
from debatelab.rubric import DEFAULT_PROMPT_VERSION, Rubric, shipped_rubric
from debatelab.runtime import Failures, LimiterFor, RunProgress
from debatelab.store import Store


def stored_transcript(store: Store, debate: dict[str, Any]) -> Transcript:
    # Imported debates (the study's file) have no token counts or durations: unknown, not zero,
    # in the store; the transcript's defaults stand in for what a judge never reads anyway.
    turns = [{k: v for k, v in t.items() if v is not None} for t in store.turns(debate["debate_id"])]
    return Transcript.model_validate({
        "debate_id": debate["debate_id"], "config": debate["config"], "scenario": debate["scenario_id"],
        "motion": debate["motion"], "turns": turns,
    })


def already_judged(done: set[str], debate_id: str, rubric: Rubric, judge: ModelSpec, sample: int,
                   prompt_version: str = DEFAULT_PROMPT_VERSION) -> bool:
    """A judgment is the judge's tag's; 0.1 stored it under TAG@HOST, which counts too."""
    return any(judgment_id_for(debate_id, rubric, name, sample, prompt_version) in done
               for name in (judge.identity, judge.label))


def judge_jobs(store: Store, experiment: str, rubric: Rubric, judges: list[ModelSpec], samples: int,
               prompt_version: str = DEFAULT_PROMPT_VERSION) -> tuple[list[tuple[dict[str, Any], ModelSpec, int]], int]:
    """(debate, judge, sample) still to judge, and how many are already done."""
    debates = store.debates(experiment, finished_only=True)
    done = store.finished_judgments(experiment)
    todo, already = [], 0
    for judge in judges:  # grouped by judge model: one model load per judge on Ollama
        for d in debates:
            for s in range(samples):
                if already_judged(done, d["debate_id"], rubric, judge, s, prompt_version):
                    already += 1
                else:
                    todo.append((d, judge, s))
    return todo, already


def judgment_rows(experiment: str, o: JudgmentOutcome, host: str, digest: str | None = None
                  ) -> tuple[dict, list[dict], list[dict]]:
    judgment = {
        "judgment_id": o.judgment_id, "experiment": experiment, "debate_id": o.debate_id, "rubric": o.rubric,
        "rubric_version": o.rubric_version, "judge": o.judge, "sample": o.sample, "permuted": int(o.permuted),
        "overall": o.overall, "n_scored": sum(c["score"] is not None for c in o.criteria),
        "n_unscored": sum(c["score"] is None for c in o.criteria), "speaker_order": ",".join(o.speaker_order),
        "finished_at": time.time(), "prompt_version": o.prompt_version,
    }
    base = {k: judgment[k] for k in ("judgment_id", "experiment", "debate_id", "rubric", "rubric_version",
                                      "judge", "sample", "permuted", "prompt_version")}
    scores = [{**base, "score_id": f"{o.judgment_id}:{c['criterion']}", "criterion": c["criterion"],
               "score": c["score"], "unscored_reason": c["unscored_reason"], "rationale": c["rationale"],
               "attempts": c["attempts"]} for c in o.criteria]
    calls = [{"call_id": f"{o.judgment_id}:{c['criterion']}", "experiment": experiment, "debate_id": o.debate_id,
              "judgment_id": o.judgment_id, "stage": "judge", "agent": "judge", "host": host,
              "model": o.judge.split("@")[0], "digest": digest,
              "calls": c.get("attempts", 1), "input_tokens": c.get("input_tokens", 0),
              "output_tokens": c.get("output_tokens", 0), "duration_s": c.get("duration_s", 0.0), "cached": 0}
             for c in o.criteria]
    return judgment, scores, calls


def update_reliability(store: Store, experiment: str, rubric: Rubric,
                       prompt_version: str = DEFAULT_PROMPT_VERSION) -> dict[str, Any]:
    """The reliability table of one rubric version and judge prompt layout (people included)."""
    rows = [ScoreRow(r["debate_id"], r["judge"], r["sample"], bool(r["permuted"]), r["criterion"], r["score"])
            for r in store.scores(experiment, rubric.version, prompt_version)]
    summary = reliability_summary(rows, list(range(rubric.scale.min, rubric.scale.max + 1)))
    now = time.time()
    out = []
    for crit in [c.id for c in rubric.criteria] + ["__all__"]:
        subset = rows if crit == "__all__" else [r for r in rows if r.criterion == crit]
        flips, pairs = flip_rate(subset)
        unscored, n = unscored_rate(subset)
        layout = "" if prompt_version == "1" else f":prompt{prompt_version}"
        out.append({"key": f"{experiment}:{rubric.label}{layout}:{crit}", "experiment": experiment,
                    "rubric": rubric.id, "prompt_version": prompt_version,
                    "rubric_version": rubric.version, "criterion": crit,
                    "alpha_ordinal": summary["alpha_ordinal"].get(crit) if crit != "__all__" else None,
                    "judges": len({r.judge for r in subset}), "flip_rate": flips, "flip_pairs": pairs,
                    "unscored_rate": unscored, "criterion_judgments": n, "computed_at": now})
    store.write_reliability(out)
    return summary


class StoredJudging:
    """Judging of stored debates: each one as soon as it finishes (`submit`, pipelined with the
    debates still running, as far as the judge's hosts have slots), then whatever is still missing
    (`finish`: debates finished by an earlier run, judgments that failed). `in_flight` judgments run
    at once (one per server slot keeps each slot's prompt cache on one transcript)."""

    def __init__(self, store: Store, experiment: str, rubric: Rubric, judges: list[ModelSpec], *, samples: int,
                 permute: bool, saver: Any, limiter_for: LimiterFor, progress: RunProgress,
                 failures: Failures | None = None, max_attempts: int = 3, in_flight: int = 2,
                 model_factory: Callable[[ModelSpec], Any] = make_chat_model, expected_debates: int | None = None,
                 prompt_version: str = DEFAULT_PROMPT_VERSION, criteria_at_once: int | str = 1) -> None:
        self.store, self.experiment, self.rubric, self.judges = store, experiment, rubric, judges
        self.samples, self.permute, self.saver, self.limiter_for = samples, permute, saver, limiter_for
        self.progress, self.max_attempts = progress, max_attempts
        self.failures = failures if failures is not None else Failures()
        self.prompt_version, self.criteria_at_once = prompt_version, criteria_at_once
        self.models = {j.label: model_factory(j) for j in judges}
        self.hosts = {j.label: pool_label(j) for j in judges}
        # A store that already names this judge TAG@HOST (written by 0.1) keeps that name for it.
        known = set(store.experiment_judges(experiment))
        self.names = {j.label: j.label if j.label in known and j.identity not in known else j.identity for j in judges}
        self.slots = asyncio.Semaphore(max(1, in_flight))
        self.done_ids = store.finished_judgments(experiment)
        self.new = 0
        self.tasks: list[asyncio.Task[None]] = []
        todo, already = judge_jobs(store, experiment, rubric, judges, samples, prompt_version)
        expected = (expected_debates or 0) * len(judges) * samples
        progress.stage("judgments", total=max(expected, len(todo) + already), done=already)

    def submit(self, debate: dict[str, Any]) -> None:
        """Judge a debate that has just finished, without waiting for the others."""
        self.tasks.append(asyncio.create_task(self._judge_debate(debate)))

    async def _judge_debate(self, debate: dict[str, Any]) -> None:
        await asyncio.gather(*(self._one(debate, j, s) for j in self.judges for s in range(self.samples)))

    async def _one(self, debate: dict[str, Any], judge: ModelSpec, sample: int) -> None:
        if already_judged(self.done_ids, debate["debate_id"], self.rubric, judge, sample, self.prompt_version):
            return
        transcript = stored_transcript(self.store, debate)
        try:
            async with self.slots:
                outcome = await run_judgment(
                    transcript, self.rubric, judge, self.models[judge.label], sample=sample, permute=self.permute,
                    checkpointer=self.saver, max_attempts=self.max_attempts, limiter=self.limiter_for(judge),
                    trace={"experiment": self.experiment}, judge_name=self.names[judge.label],
                    prompt_version=self.prompt_version, criteria_at_once=self.criteria_at_once)
        except Exception as exc:
            failure = self.failures.record("judgments", f"debate {debate['debate_id']} by {judge.label}", exc)
            self.progress.log(f"[red]judging failed[/red] {failure.item}: {failure.reason}")
            return
        judgment, scores, calls = judgment_rows(self.experiment, outcome, self.hosts[judge.label],
                                                reported_digest(judge))
        self.store.write_judgment(judgment, scores, calls)
        self.done_ids.add(outcome.judgment_id)
        self.new += 1
        self.progress.count_calls(sum(c["calls"] for c in calls), sum(c["output_tokens"] for c in calls))
        self.progress.advance("judgments")

    async def finish(self) -> dict[str, int]:
        """Wait for the submitted debates, judge every finished debate still missing a judgment,
        then recompute reliability."""
        await asyncio.gather(*self.tasks)
        self.failures.clear_stage("judgments")  # what failed is retried below, once
        todo, already = judge_jobs(self.store, self.experiment, self.rubric, self.judges, self.samples,
                                   self.prompt_version)
        self.progress.stage("judgments", total=len(todo) + already, done=already)
        await asyncio.gather(*(self._one(d, j, s) for d, j, s in todo))
        update_reliability(self.store, self.experiment, self.rubric, self.prompt_version)
        total = len(todo) + already
        failed = len(self.failures.in_stage("judgments"))
        return {"total": total, "skipped": total - self.new - failed, "done": self.new, "failed": failed}


async def judge_stored(
    store: Store, experiment: str, rubric: Rubric, judges: list[ModelSpec], *, samples: int, permute: bool,
    saver: Any, limiter_for: LimiterFor, progress: RunProgress, failures: Failures | None = None,
    max_attempts: int = 3, in_flight: int = 2, model_factory: Callable[[ModelSpec], Any] = make_chat_model,
    prompt_version: str = DEFAULT_PROMPT_VERSION, criteria_at_once: int | str = 1,
) -> dict[str, int]:
    """Judge every finished debate still missing a judgment."""
    judging = StoredJudging(store, experiment, rubric, judges, samples=samples, permute=permute, saver=saver,
                            limiter_for=limiter_for, progress=progress, failures=failures, max_attempts=max_attempts,
                            in_flight=in_flight, model_factory=model_factory, prompt_version=prompt_version,
                            criteria_at_once=criteria_at_once)
    return await judging.finish()


def recompute_reliability(store: Store) -> str:
    """Recompute every judged experiment's reliability from its stored scores (after a merge, whose
    shards each computed it on their own part); returns a line saying for which."""
    done, skipped = [], []
    for experiment, rubric_id, version, prompt_version in store.judged_rubric_versions():
        rubric = shipped_rubric(rubric_id)
        if rubric is not None and rubric.version == version:
            update_reliability(store, experiment, rubric, prompt_version)
            done.append(f"{experiment} ({rubric_id})")
        else:
            skipped.append(f"{experiment} ({rubric_id}@{version})")
    note = f"reliability recomputed for {', '.join(done)}" if done else "no judgments to compute reliability on"
    if skipped:
        note += (f"; not for {', '.join(skipped)} (rubric not shipped in this version): "
                 f"`debatelab judge --experiment NAME --rubric FILE` recomputes it")
    return note
