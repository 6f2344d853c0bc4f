"""Experiments: experiment files, and the runners that turn them into stored debates, judgments and
answers, resumably (debates, weak-to-strong questions), with the swap-aware model-load plan."""

from debatelab.experiments.answer_debate import debate_config as question_debate_config
from debatelab.experiments.answer_debate import run_question_debate
from debatelab.experiments.debate import ModelFactory, debate_id_for, run_debate, transcript_json
from debatelab.experiments.khan2024 import import_khan2024
from debatelab.experiments.michael2023 import import_michael2023
from debatelab.experiments.oversight import OversightRun, run_oversight, two_options
from debatelab.experiments.question_calls import QuestionsSummary
from debatelab.experiments.released_judging import ReleasedJudging, judge_stored_transcripts
from debatelab.experiments.runner import RunSummary, in_shard, parse_shard, plan_debates, run_experiment
from debatelab.experiments.spec import (
    DebatesExperiment,
    Experiment,
    ExperimentBase,
    OversightExperiment,
    QuestionDebateExperiment,
    WeakToStrongExperiment,
)
from debatelab.experiments.swap_plan import collapse, load_plan, majority_merge, shortest_supersequence
from debatelab.experiments.weak_to_strong import run_weak_to_strong, strong_spec, weak_config

__all__ = [
    "collapse", "debate_id_for", "import_michael2023",
    "import_khan2024", "judge_stored_transcripts", "ReleasedJudging",
    "DebatesExperiment", "Experiment", "ExperimentBase", "in_shard", "load_plan",
    "majority_merge", "ModelFactory", "OversightExperiment", "OversightRun", "parse_shard", "plan_debates",
    "question_debate_config",
    "QuestionDebateExperiment", "QuestionsSummary", "run_debate", "run_experiment", "run_oversight",
    "run_question_debate", "run_weak_to_strong", "RunSummary", "shortest_supersequence", "strong_spec",
    "transcript_json", "two_options", "weak_config", "WeakToStrongExperiment",
]
