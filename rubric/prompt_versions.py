"""What a judge prompt version means: one `JudgeLayout` value per version, validated in one place.

The judging graph writes the prompts from a layout; the experiment file, the context of the
judging graph and `debatelab judge --prompt-version` check a version through `judge_layout`; the
report and the viewer ask it whether a judgment was asked for reasons (empty reason cells would
otherwise read as lost data). It lives in the rubric room, below the graphs and the lab, so the
report does not load the judging graph (LangGraph) to learn it.

How a judge's messages are laid out, recorded with every judgment (`prompt_version`):
  "1": per criterion, the transcript then that criterion's question, anchors and answer format;
  "2": cache-first: the instructions, the whole rubric with its anchors and the answer format come
       first (the same for every judgment), then the transcript (the same for every criterion of a
       judgment), and each call ends with one short line naming its criterion. A server's prompt
       cache then serves all but a few tokens of every call after a judgment's first.
  "3": version 2's messages, the answer asked for as compact JSON: the schema carries llguidance's
       `x-guidance: {whitespace_flexible: false}`, so a server that decodes with llguidance (the
       embedded endpoint; vLLM's guidance backend) lets no whitespace in between keys and values,
       and the judge writes fewer tokens. Servers without llguidance ignore the keyword and answer
       as for version 2. A different grammar makes a small judge say different things, so this is
       a version of its own (docs/explanations/performance.md has the agreement).
  "4": version 3 with the score alone: no "reasons" are asked for or allowed, so a criterion's answer
       is `{"score":N}`, ~6 output tokens instead of ~30. Direct scoring, as G-Eval's form-filling
       judge does; it drops the judge's written reasons (the viewer then has none to show), and for
       a small judge the reasons are where most of its time goes. A changed judge like the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from debatelab.base import UserError


@dataclass(frozen=True)
class JudgeLayout:
    """One judge prompt version.

    Attributes:
        version: its name in files, contexts and stored judgments ("1" to "4").
        cache_first: the rubric and the transcript come first, the criterion's name last.
        compact_json: the answer's schema asks for JSON without whitespace (llguidance).
        score_only: the judge gives the score alone, no reasons.
        reasons_chars: the longest reasons a criterion's answer may hold (0: none asked for).
    """

    version: str
    cache_first: bool
    compact_json: bool
    score_only: bool
    reasons_chars: int


LAYOUTS = {
    "1": JudgeLayout("1", cache_first=False, compact_json=False, score_only=False, reasons_chars=300),
    "2": JudgeLayout("2", cache_first=True, compact_json=False, score_only=False, reasons_chars=160),
    "3": JudgeLayout("3", cache_first=True, compact_json=True, score_only=False, reasons_chars=160),
    "4": JudgeLayout("4", cache_first=True, compact_json=True, score_only=True, reasons_chars=0),
}
PROMPT_VERSIONS = tuple(LAYOUTS)
DEFAULT_PROMPT_VERSION = "1"
SCORE_ONLY_VERSIONS = tuple(v for v, layout in LAYOUTS.items() if layout.score_only)


def judge_layout(version: str, where: str = "prompt_version") -> JudgeLayout:
    """The layout of `version`, or one line naming `where` it was given and the versions there are."""
    if version not in LAYOUTS:
        raise UserError(f"{where} {str(version)[:20]!r}: use {' or '.join(PROMPT_VERSIONS)}")
    return LAYOUTS[version]


ALL_CRITERIA = "all"  # criteria_at_once: score every criterion of a judgment in one structured call


def criteria_at_once(value: object, where: str = "criteria_at_once") -> int | str:
    """How many criteria a judgment scores per call: a whole number >= 1 (a digit string from the
    command line too) or 'all'; anything else is one line naming `where`."""
    if value == ALL_CRITERIA:
        return ALL_CRITERIA
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise UserError(f"{where} {str(value)[:20]!r}: give a whole number >= 1, or 'all'")
