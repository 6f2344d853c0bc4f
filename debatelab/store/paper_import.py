"""Importing the study's released results (arXiv 2509.00091) as an experiment in the store.

The release has `metadata`, `baseline_results` (model tag -> debates), `ensemble_results`
(configuration -> debates) and `scenarios_tested`. Each debate's `arguments` become turns:
thinking blocks are kept apart from arguments, and replies that stop mid-sentence (the study cut
every reply at 200 tokens) are flagged as truncated. The in-debate judge's verdict is kept; the
study's own regex scores are not, since they defaulted to 5.0 - judge the import with a rubric.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from debatelab.base import MAX_IMPORT_BYTES, UserError, describe_validation_error, read_user_json
from debatelab.scenarios import load_scenario_set
from debatelab.store.store import Store

ROLE_MAP = {"proponent": ("debater", "pro", "argument"), "opponent": ("debater", "con", "argument"),
            "judge": ("aggregator", "free", "verdict")}
WINNERS = {"PROPONENT": "pro", "OPPONENT": "con"}
_ENDS_CLEANLY = re.compile(r"[.!?…)\]\"'*`]\s*$")


def likely_truncated(content: str) -> bool:
    """True when a reply stops mid-thought: an unclosed <think> or no sentence-final punctuation."""
    text = content.strip()
    if not text:
        return True
    if text.lower().count("<think>") > text.lower().count("</think>"):
        return True
    return not _ENDS_CLEANLY.search(text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48]


class PaperArgument(BaseModel):
    """One turn as the study's file records it."""

    model_config = ConfigDict(extra="ignore")

    role: str = ""
    content: str | None = ""
    model: str = ""
    round_number: int = Field(default=0, ge=0, le=10_000)


class PaperDebate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    topic: str = ""
    scenario_category: str | None = None
    winner: str | None = None
    judge_reasoning: str | None = None
    total_time: float | None = Field(default=None, allow_inf_nan=False)
    arguments: list[PaperArgument] = Field(default_factory=list)


class PaperResults(BaseModel):
    """The study's released results file (full_experiment_results.json), checked at the boundary."""

    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] = Field(default_factory=dict)
    baseline_results: dict[str, list[PaperDebate]]
    ensemble_results: dict[str, list[PaperDebate]]


def _load(path: Path) -> dict[str, Any]:
    data = read_user_json(path, max_bytes=MAX_IMPORT_BYTES)
    if not isinstance(data, dict) or not {"baseline_results", "ensemble_results"} <= set(data):
        raise UserError(f"{path}: not the study's results format (needs 'baseline_results' and 'ensemble_results')")
    try:
        return PaperResults.model_validate(data).model_dump()
    except ValidationError as exc:
        raise UserError(describe_validation_error(str(path), exc) + "; is this the study's results file?") from None


def import_paper(path: Path, store: Store, name: str = "paper-2509.00091") -> dict[str, int]:
    from debatelab.agents import split_thinking  # here: opening a store never loads the model layer

    data = _load(path)
    paper = {s.motion: s for s in load_scenario_set("paper").scenarios}
    store.upsert_experiment(name, description=f"Imported from {path.name} (arXiv 2509.00091)", kind="debates",
                            spec={"imported_from": str(path), "metadata": data.get("metadata", {})},
                            source_file=str(path))
    counts = {"debates": 0, "baseline": 0, "ensemble": 0, "truncated_turns": 0}
    groups = [("baseline", f"baseline-{k}", v) for k, v in data["baseline_results"].items()]
    groups += [("ensemble", k, v) for k, v in data["ensemble_results"].items()]
    for kind, config, debates in groups:
        for i, d in enumerate(debates):
            topic = d.get("topic", "")
            scenario = paper.get(topic)
            scenario_id = scenario.id if scenario else _slug(topic)
            debate_id = hashlib.sha256(f"{name}|{config}|{topic}|{i}".encode()).hexdigest()[:16]
            turns, calls = [], []
            for idx, arg in enumerate(d.get("arguments", [])):
                role, stance, turn_kind = ROLE_MAP.get(arg.get("role", ""), ("debater", "free", "argument"))
                content = arg.get("content") or ""
                text, thinking = split_thinking(content)
                truncated = likely_truncated(content)
                counts["truncated_turns"] += int(truncated)
                turns.append({
                    "turn_id": f"{debate_id}:{idx:03d}", "debate_id": debate_id, "idx": idx,
                    "round": int(arg.get("round_number", 0)), "role": role, "agent": arg.get("role", role),
                    "model": arg.get("model", ""), "stance": stance, "kind": turn_kind, "text": text,
                    "thinking": thinking, "input_tokens": None, "output_tokens": None, "duration_s": None,
                    "done_reason": "length" if truncated else None, "truncated": int(truncated), "calls": 1,
                })
                calls.append({
                    "call_id": f"{debate_id}:{idx:03d}", "experiment": name, "debate_id": debate_id,
                    "judgment_id": None, "stage": "debate", "agent": arg.get("role", role), "host": "paper",
                    "model": arg.get("model", ""), "calls": 1, "input_tokens": None, "output_tokens": None,
                    "duration_s": None, "cached": 0,
                })
            reasoning_text, reasoning_thinking = split_thinking(d.get("judge_reasoning") or "")
            verdict = {"winner": WINNERS.get(d.get("winner", "")), "reported_winner": d.get("winner"),
                       "rationale": reasoning_text, "thinking": reasoning_thinking}
            models = sorted({t["model"] for t in turns if t["model"]})
            row = {
                "debate_id": debate_id, "experiment": name, "config": config, "config_fingerprint": "paper",
                "kind": kind, "topology": "single" if kind == "baseline" else "adversarial",
                "scenario_id": scenario_id, "scenario_set": "paper" if scenario else "imported",
                "category": d.get("scenario_category") or (scenario.category if scenario else ""),
                "motion": topic, "repeat": 0, "status": "finished", "error": None,
                "verdict_winner": verdict["winner"], "verdict_confidence": None, "verdict": json.dumps(verdict),
                "turns": len(turns), "calls": len(turns), "input_tokens": None, "output_tokens": None,
                "duration_s": d.get("total_time"), "models": ",".join(models), "source": "import-paper",
                "started_at": None, "finished_at": None,
            }
            store.write_finished_debate(row, turns, calls)
            counts["debates"] += 1
            counts[kind] += 1
    return counts
