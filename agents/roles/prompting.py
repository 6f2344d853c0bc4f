"""Prompt templates (files beside the roles) and transcript rendering for speakers.

Templates use `string.Template` ($name) so braces in user text or JSON never break them.
What a speaker sees is decided here: only arguments, critiques and explanations, never another
agent's thinking.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import Any

from debatelab.base import UserError, package_dir, read_user_text

PROMPTS_DIR = package_dir("debatelab.agents.roles") / "prompts"

STANCE_TEXT = {
    "pro": "You argue FOR the motion.",
    "con": "You argue AGAINST the motion.",
    "free": "Take the position you find best supported, and say which it is.",
}

VISIBLE_KINDS = ("argument", "critique", "explanation")


def _read(path: str) -> string.Template:
    """The template at `path`, read again whenever the file changes (a long-lived LangGraph server
    sees an edited template at its next run), else from a small cache."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        raise UserError(f"prompt template {p} not found; fix the agent's 'template' path") from None
    return _read_version(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=128)
def _read_version(path: str, mtime_ns: int, size: int) -> string.Template:
    return string.Template(read_user_text(path))


def template_path(name_or_path: str) -> str:
    """A template's file: a path (ends in .txt) as given, or a shipped template by name (`debater`)."""
    return name_or_path if name_or_path.endswith(".txt") else str(PROMPTS_DIR / f"{name_or_path}.txt")


def template_exists(name_or_path: str) -> bool:
    return Path(template_path(name_or_path)).is_file()


def shipped_templates() -> list[str]:
    return sorted(p.stem for p in PROMPTS_DIR.glob("*.txt"))


def render_template(name_or_path: str, **values: Any) -> str:
    """Render a shipped template by name (`debater`) or a user's template file by path."""
    path = template_path(name_or_path)
    try:
        return _read(path).substitute(**{k: "" if v is None else v for k, v in values.items()})
    except KeyError as exc:
        raise UserError(f"prompt template {path} uses ${exc.args[0]}, which is not provided") from None


def scenario_brief(scenario: dict[str, Any]) -> str:
    lines = [f"Motion: {scenario['motion']}"]
    if scenario.get("description"):
        lines.append(f"About: {scenario['description']}")
    if scenario.get("alignment_focus"):
        lines.append(f"Alignment focus: {scenario['alignment_focus']}")
    if scenario.get("context"):
        lines.append(f"Facts: {scenario['context']}")
    if scenario.get("stakeholders"):
        lines.append(f"Stakeholders: {', '.join(scenario['stakeholders'])}")
    return "\n".join(lines)


def visible_turns(turns: list[dict[str, Any]], current_round: int, visibility: str = "all") -> list[dict]:
    """The turns a speaker may read: earlier contributions, filtered by the topology's rule."""
    shown = [t for t in turns if t.get("kind") in VISIBLE_KINDS and t.get("text")]
    if visibility == "previous_round":
        shown = [t for t in shown if t["round"] == current_round - 1]
    return shown


def speaker_label(turn: dict[str, Any]) -> str:
    stance = {"pro": " (for)", "con": " (against)"}.get(turn.get("stance", ""), "")
    return f"{turn['agent']}{stance}, {turn['kind']}"


def render_transcript(turns: list[dict[str, Any]]) -> str:
    if not turns:
        return "(nothing has been said yet)"
    return "\n\n".join(f"[Round {t['round']}] {speaker_label(t)}:\n{t['text']}" for t in turns)
