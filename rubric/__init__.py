"""Rubrics: HOW debates are scored. YAML files in `rubric/` and their schema and linter."""

from debatelab.rubric.schema import Rubric, RubricCriterion, lint_rubric, load_rubric

__all__ = ["Rubric", "RubricCriterion", "lint_rubric", "load_rubric"]
