"""Experiments: experiment files, and the runners that turn them into stored debates, judgments and
answers, resumably (debates, weak-to-strong questions), with the swap-aware model-load plan."""

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
from debatelab.experiments.model_needs import model_specs_in_file
from debatelab.experiments.oversight import OversightRun, run_oversight, two_options
from debatelab.experiments.question_calls import QuestionsSummary
from debatelab.experiments.questions import run_questions
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
from debatelab.experiments.schemas import (
    SCHEMA_NAMES,
    json_schema,
    schema_text,
    shipped_schema_text,
    write_shipped_schemas,
)
from debatelab.experiments.spec import Experiment, load_experiment, repeat_config
from debatelab.experiments.swap_plan import collapse, dry_run_orders, load_plan, majority_merge, shortest_supersequence
from debatelab.experiments.weak_to_strong import run_weak_to_strong, strong_spec, weak_config

__all__ = [
    "OversightRun", "run_oversight", "two_options", "SCHEMA_NAMES", "json_schema", "schema_text", "shipped_schema_text",
    "write_shipped_schemas",
    "chat_models_for", "collapse", "debate_id_for", "debate_trace", "DebateJob", "DebateOutcome", "dry_run_orders",
    "Experiment", "in_shard", "incompleteness", "judge_family_warnings", "load_experiment", "load_plan",
    "majority_merge", "model_specs_in_file", "ModelFactory", "parse_shard", "plan_debates", "QuestionsSummary",
    "repeat_config", "run_debate", "run_experiment", "run_questions", "run_weak_to_strong", "RunSummary",
    "shortest_supersequence", "strong_spec", "thread_id_for", "total_slots", "transcript_json", "weak_config",
]
