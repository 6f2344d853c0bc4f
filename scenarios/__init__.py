"""Scenarios: WHAT is debated or asked. Scenario sets (YAML), labelled multiple-choice question sets
and labelled pairs for judge audits (shipped from PyPI wheels with provenance, or users' files)."""

from debatelab.scenarios.khan2024 import DEFAULT_EXCLUSIONS as KHAN2024_DEFAULT_EXCLUSIONS
from debatelab.scenarios.khan2024 import EXCLUSIONS as KHAN2024_EXCLUSIONS
from debatelab.scenarios.khan2024 import PROVENANCE as KHAN2024_PROVENANCE
from debatelab.scenarios.khan2024 import KhanJudgment, check_exclusions, excluded_by, read_judgments
from debatelab.scenarios.michael2023 import PROVENANCE as MICHAEL2023_PROVENANCE
from debatelab.scenarios.michael2023 import RELEASE_URL as MICHAEL2023_RELEASE_URL
from debatelab.scenarios.michael2023 import (
    DebateFile,
    Room,
    debate_files,
    fetch_release,
    metadata_file,
    read_debate,
    read_rooms,
    release_questions,
)
from debatelab.scenarios.pairs import (
    LabelledPair,
    PairSet,
    content_key,
    load_pair_set,
    load_pairs,
)
from debatelab.scenarios.quality import LICENCE as QUALITY_LICENCE
from debatelab.scenarios.quality import RELEASE_URL as QUALITY_RELEASE_URL
from debatelab.scenarios.quality import SOURCE as QUALITY_SOURCE
from debatelab.scenarios.quality import QualityFilters, fetch_quality, quality_file, read_quality, strip_html
from debatelab.scenarios.questions import (
    Question,
    load_questions,
    parse_answer,
    parse_options,
    probe_letter,
    sample_questions,
    set_provenance,
)
from debatelab.scenarios.schema import Scenario, load_scenario_set

__all__ = [
    "probe_letter", "MICHAEL2023_PROVENANCE", "Room", "metadata_file", "read_rooms", "DebateFile", "debate_files",
    "read_debate", "fetch_release", "MICHAEL2023_RELEASE_URL", "release_questions",
    "KHAN2024_DEFAULT_EXCLUSIONS", "KHAN2024_EXCLUSIONS", "KHAN2024_PROVENANCE", "KhanJudgment", "check_exclusions",
    "excluded_by", "read_judgments", "QualityFilters", "quality_file", "read_quality", "strip_html", "fetch_quality",
    "QUALITY_LICENCE", "QUALITY_RELEASE_URL",
    "QUALITY_SOURCE",
    "LabelledPair", "PairSet", "Question", "Scenario", "content_key", "load_pair_set", "load_pairs", "load_questions",
    "load_scenario_set", "parse_answer", "parse_options", "sample_questions", "set_provenance",
]
