"""Judging: absolute judgments of stored debates, pairwise comparisons, audits of the judges
themselves, people's ratings (all stored as judgments in the same tables), and stance readings."""

from debatelab.analysis import audit_line  # re-exported: the audit runner's line lives with the analysis
from debatelab.judging.absolute import JudgmentOutcome, judgment_id_for, load_transcript, permutation_seed, run_judgment
from debatelab.judging.audit import audit_metrics, logistic_slope, run_audit
from debatelab.judging.human import (
    HumanRating,
    check_rater,
    export_ratings,
    import_ratings,
    parse_ratings_csv,
    save_rating,
)
from debatelab.judging.judges import family_warnings, parse_judges
from debatelab.judging.pairwise import judge_pairs, plan_pairs
from debatelab.judging.runs import (
    experiment_family_warnings,
    judge_experiment,
    judge_transcript,
    read_transcript,
    transcript_family_warnings,
    transcript_reliability,
)
from debatelab.judging.stance import StanceReadings
from debatelab.judging.stored import (
    StoredJudging,
    judgment_rows,
    recompute_reliability,
    stored_transcript,
    update_reliability,
)

__all__ = [
    "HumanRating", "JudgmentOutcome", "StanceReadings", "StoredJudging", "audit_line", "audit_metrics", "check_rater",
    "experiment_family_warnings", "export_ratings", "family_warnings", "import_ratings", "judge_experiment",
    "judge_pairs", "judge_transcript", "judgment_id_for", "judgment_rows", "load_transcript", "logistic_slope",
    "parse_judges", "parse_ratings_csv", "permutation_seed", "plan_pairs", "read_transcript",
    "recompute_reliability", "run_audit", "run_judgment", "save_rating", "stored_transcript",
    "transcript_family_warnings", "transcript_reliability", "update_reliability",
]
