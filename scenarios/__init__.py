"""Scenarios: WHAT is debated or asked. Scenario sets (YAML), labelled multiple-choice question sets
and labelled pairs for judge audits (shipped from PyPI wheels with provenance, or users' files)."""

from debatelab.scenarios.pairs import (
    BUILTIN_PAIR_SETS,
    LabelledPair,
    PairSet,
    available_pair_sets,
    content_key,
    load_pair_set,
    load_pairs,
    sample_pairs,
)
from debatelab.scenarios.questions import (
    BUILTIN_SETS,
    Question,
    load_questions,
    parse_answer,
    parse_options,
    sample_questions,
    set_provenance,
)
from debatelab.scenarios.schema import Scenario, ScenarioSet, available_sets, load_scenario_set

__all__ = [
    "BUILTIN_PAIR_SETS", "BUILTIN_SETS", "LabelledPair", "PairSet", "Question", "Scenario", "ScenarioSet",
    "available_pair_sets", "available_sets", "content_key", "sample_pairs", "load_pair_set", "load_pairs", "load_questions",
    "load_scenario_set", "parse_answer", "parse_options", "sample_questions", "set_provenance",
]
