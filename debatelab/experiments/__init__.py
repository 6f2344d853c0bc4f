"""Experiments: experiment files, and the runners that turn them into stored debates, judgments and
answers, resumably (debates, weak-to-strong questions), with the swap-aware model-load plan."""

from debatelab.experiments.answer_debate import debate_config as question_debate_config
from debatelab.experiments.answer_debate import run_question_debate
from debatelab.experiments.debate import (
    DebateOutcome,
    ModelFactory,
    chat_models_for,
    debate_id_for,
    debate_trace,
    incompleteness,
    run_debate,
    thread_id_for,
    transcript_json,
)
from debatelab.experiments.oversight import OversightRun, run_oversight, two_options
from debatelab.experiments.question_calls import QuestionsSummary
from debatelab.experiments.runner import (
    DebateJob,
    RunSummary,
    in_shard,
    judge_family_warnings,
    parse_shard,
    plan_debates,
    run_experiment,
    total_slots,
)
from debatelab.experiments.spec import (
    DebatesExperiment,
    Experiment,
    ExperimentBase,
    OversightExperiment,
    QuestionDebateExperiment,
    WeakToStrongExperiment,
    repeat_config,
)
from debatelab.experiments.swap_plan import collapse, dry_run_orders, load_plan, majority_merge, shortest_supersequence
from debatelab.experiments.weak_to_strong import run_weak_to_strong, strong_spec, weak_config

__all__ = [
    "chat_models_for", "collapse", "debate_id_for", "debate_trace", "DebateJob", "DebateOutcome", "DebatesExperiment",
    "dry_run_orders", "Experiment", "ExperimentBase", "in_shard", "incompleteness", "judge_family_warnings",
    "load_plan", "majority_merge", "ModelFactory", "OversightExperiment", "OversightRun", "parse_shard", "plan_debates",
    "question_debate_config", "QuestionDebateExperiment", "QuestionsSummary", "repeat_config", "run_debate",
    "run_experiment", "run_oversight", "run_question_debate", "run_weak_to_strong", "RunSummary",
    "shortest_supersequence", "strong_spec", "thread_id_for", "total_slots", "transcript_json", "two_options",
    "weak_config", "WeakToStrongExperiment",
]
