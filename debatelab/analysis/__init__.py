"""Analysis: the statistics behind every table (means with n, unscored and intervals; paired tests
with Holm correction), judge reliability and agreement with people (Krippendorff's alpha),
Bradley-Terry ratings from pairwise verdicts, and the weak-to-strong methods. Computed from the
store; nothing here calls a model."""

from debatelab.analysis.agreement import (
    JudgeAgreement,
    agreement_lines,
    agreement_table,
    experiment_agreement,
    overall_rows,
    rubric_domain,
)
from debatelab.analysis.alpha import alpha_of_counts, ordinal_alpha
from debatelab.analysis.audits import audit_line
from debatelab.analysis.clustered import cluster_difference, cluster_mean, cluster_ratio, wilson
from debatelab.analysis.dynamics import (
    Dynamics,
    conformity,
    dynamics,
    final_answers,
    majority,
    paired_difference,
    question_debate_results,
    round_zero_vote,
    samples_for_equal_tokens,
)
from debatelab.analysis.judge_diagnostics import diagnostic_lines, position_diagnostics, rubric_diagnostics
from debatelab.analysis.length_control import controlled_difference, length_controlled_rows, survives_length_control
from debatelab.analysis.oversight import oversight_results, planned_trials
from debatelab.analysis.ratings import bootstrap_bt, bradley_terry, pairwise_ratings, pairwise_table, settle
from debatelab.analysis.reliability import (
    ScoreRow,
    alpha_by_criterion,
    flip_rate,
    reliability_summary,
    unscored_rate,
)
from debatelab.analysis.reproduction import OFFLINE_PREFIX, is_live_person
from debatelab.analysis.stance import stance_summary
from debatelab.analysis.stats import (
    GroupSummary,
    JudgeKind,
    PairedTest,
    analyse,
    bootstrap_ci,
    debate_table,
    holm,
    load_frames,
    one_model_rows,
    paired_test,
    summarise,
)
from debatelab.analysis.weak_to_strong import (
    SammeFit,
    accuracy,
    best_agent,
    compute_results,
    facilitation_metrics,
    fit_samme,
    mcnemar,
    stored_answers,
)

__all__ = [
    "stance_summary", "survives_length_control",
    "oversight_results", "planned_trials", "OFFLINE_PREFIX", "is_live_person",
    "accuracy", "agreement_lines", "audit_line", "agreement_table", "alpha_by_criterion", "alpha_of_counts", "analyse",
    "best_agent", "bootstrap_bt", "bootstrap_ci", "bradley_terry", "compute_results", "conformity",
    "controlled_difference", "debate_table", "Dynamics", "dynamics", "experiment_agreement", "facilitation_metrics",
    "final_answers", "fit_samme", "flip_rate", "GroupSummary", "holm", "JudgeAgreement", "JudgeKind",
    "length_controlled_rows", "load_frames", "majority", "mcnemar", "one_model_rows", "ordinal_alpha", "overall_rows",
    "paired_difference", "paired_test", "PairedTest", "pairwise_ratings", "pairwise_table", "question_debate_results",
    "reliability_summary", "round_zero_vote", "rubric_domain", "SammeFit", "samples_for_equal_tokens", "ScoreRow",
    "cluster_difference", "cluster_mean", "cluster_ratio", "settle", "stored_answers", "summarise", "unscored_rate",
    "wilson", "diagnostic_lines", "position_diagnostics", "rubric_diagnostics",
]
