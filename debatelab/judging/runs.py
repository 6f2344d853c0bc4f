"""What `debatelab judge` does, as library calls: judge one transcript file, or every stored debate
of an experiment (absolute or pairwise), resumably, under the one failure policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from debatelab.agents import ModelSpec, concurrency_for, make_chat_model, require_models, resolve_host
from debatelab.analysis import ScoreRow, reliability_summary
from debatelab.base import read_user_json
from debatelab.graphs import Transcript
from debatelab.judging.absolute import JudgmentOutcome, load_transcript, run_judgment
from debatelab.judging.judges import family_warnings
from debatelab.judging.pairwise import judge_pairs
from debatelab.judging.stored import judge_stored
from debatelab.rubric import DEFAULT_PROMPT_VERSION, Rubric
from debatelab.runtime import Failures, RunProgress, host_limiters
from debatelab.store import Store, open_checkpointer


def read_transcript(path: Path) -> Transcript:
    """A transcript file (`debatelab debate --json`), checked."""
    return load_transcript(read_user_json(path), str(path))


def transcript_family_warnings(specs: list[ModelSpec], transcript: Transcript, *, strict: bool) -> list[str]:
    debaters = {t.model: f"debate {transcript.debate_id}" for t in transcript.turns if t.model}
    return family_warnings(specs, debaters, strict=strict)


async def judge_transcript(transcript: Transcript, rubric: Rubric, specs: list[ModelSpec], *, samples: int,
                           permute: bool, checkpoints: str | Path, prompt_version: str = DEFAULT_PROMPT_VERSION,
                           criteria_at_once: int | str = 1) -> list[JudgmentOutcome]:
    """Every (judge, sample) judgment of one transcript, each resumed from its checkpoint."""
    require_models(specs, resolve_host)
    results = []
    async with open_checkpointer(checkpoints) as saver:
        for spec in specs:
            model = make_chat_model(spec)
            for sample in range(samples):
                results.append(await run_judgment(transcript, rubric, spec, model, sample=sample, permute=permute,
                                                  checkpointer=saver, prompt_version=prompt_version,
                                                  criteria_at_once=criteria_at_once))
    return results


def outcome_rows(outcomes: list[JudgmentOutcome]) -> list[ScoreRow]:
    return [ScoreRow(o.debate_id, o.judge, o.sample, o.permuted, c["criterion"], c["score"])
            for o in outcomes for c in o.criteria]


def transcript_reliability(outcomes: list[JudgmentOutcome], rubric: Rubric) -> dict[str, Any]:
    return reliability_summary(outcome_rows(outcomes), list(range(rubric.scale.min, rubric.scale.max + 1)))


def experiment_family_warnings(store: Store, experiment: str, specs: list[ModelSpec], *, strict: bool) -> list[str]:
    debaters = dict.fromkeys(store.debate_models(experiment), experiment)
    return family_warnings(specs, debaters, strict=strict)


async def judge_experiment(store: Store, experiment: str, rubric: Rubric, specs: list[ModelSpec], *, samples: int,
                           permute: bool, checkpoints: str | Path, progress: RunProgress, failures: Failures,
                           pairwise: bool = False, against: Literal["baseline", "all"] = "baseline",
                           prompt_version: str = DEFAULT_PROMPT_VERSION, criteria_at_once: int | str = 1,
                           ) -> dict[str, int]:
    """Judge every stored debate of `experiment` that this (rubric, judge, sample) has not judged;
    with `pairwise`, compare matched debates in both orders instead. Item failures go to `failures`."""
    store.require_experiment(experiment)
    require_models(specs, resolve_host)
    limiter_for = host_limiters(lambda url, embedded: concurrency_for({}, url, embedded))
    async with open_checkpointer(checkpoints) as saver:
        if pairwise:
            return await judge_pairs(store, experiment, rubric, specs, saver=saver, model_factory=make_chat_model,
                                     limiter_for=limiter_for, progress=progress, failures=failures, against=against)
        return await judge_stored(store, experiment, rubric, specs, samples=samples, permute=permute, saver=saver,
                                  limiter_for=limiter_for, progress=progress, failures=failures,
                                  prompt_version=prompt_version, criteria_at_once=criteria_at_once)
