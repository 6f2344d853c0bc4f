"""Rubrics: HOW debates are scored. YAML files in `rubric/` and their schema and linter."""

from debatelab.rubric.prompt_versions import (
    ALL_CRITERIA,
    DEFAULT_PROMPT_VERSION,
    PROMPT_VERSIONS,
    SCORE_ONLY_VERSIONS,
    criteria_at_once,
    judge_layout,
)
from debatelab.rubric.schema import (
    OVERALL,
    Rubric,
    RubricCriterion,
    anchor_levels,
    lint_rubric,
    load_rubric,
    shipped_rubric,
    shipped_rubric_ids,
)

__all__ = [
    "OVERALL", "SCORE_ONLY_VERSIONS", "DEFAULT_PROMPT_VERSION", "judge_layout", "ALL_CRITERIA", "criteria_at_once",
    "PROMPT_VERSIONS", "Rubric", "RubricCriterion", "anchor_levels", "lint_rubric", "load_rubric", "shipped_rubric",
    "shipped_rubric_ids",
]
