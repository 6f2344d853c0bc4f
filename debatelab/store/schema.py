"""What the results database holds: its tables, their columns and keys, and the schema version.

Only the store's modules read this; everyone else reads and writes through `Store`'s methods.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 9
# Version history (each upgrade runs in one transaction when an older file is opened):
#   1 (debatelab 0.1): epoch-float timestamps, no foreign keys.
#   2: ISO-8601 UTC timestamps (text); foreign keys turns/judgments/model_calls -> debates,
#      scores/model_calls -> judgments, debates -> experiments.
#   3: judge audits (`judge_audits`, and `audit_calls` with one row per item and order).
#   4: pairwise judging (`pair_judgments`, one per pair, judge and order; `pair_verdicts` per criterion).
#   5: `model_calls.digest`, the model digest the host reported (identity is the tag, never the host).
#   6: `judgments.prompt_version` and `scores.prompt_version`, the judge prompt's layout ("1": criterion
#      last, "2": cache-first); older LLM judgments are version "1", people's ratings have none.
#      `reliability.prompt_version`: the layout whose judgments (with people's) a row describes.
#   7: debate as oversight: `oversight_trials` (one question argued under one protocol and matchup),
#      `oversight_turns` (arguments, choices and the judge's questions, with quote counts) and
#      `oversight_verdicts` (one per trial and judge, model or person).
#   8: stance over a debate: `stance_readings`, one per argued turn, reader model and stance prompt
#      version (the position the turn takes on the motion, and whether it conceded a point).
#   9: `judge_beliefs`: a judge's probability per answer after a round of an oversight trial (the NYU
#      judges' feedback, offline judges' steps, an LLM judge with `beliefs: every_round`).
MARKER_TABLE = "debatelab_meta"

TABLES: dict[str, dict[str, Any]] = {
    "experiments": {
        "columns": {"name": str, "description": str, "kind": str, "spec": str, "source_file": str,
                    "created_at": str, "updated_at": str},
        "pk": "name",
    },
    "debates": {
        "columns": {"debate_id": str, "experiment": str, "config": str, "config_fingerprint": str,
                    "kind": str, "topology": str, "scenario_id": str, "scenario_set": str, "category": str,
                    "motion": str, "repeat": int, "status": str, "error": str, "verdict_winner": str,
                    "verdict_confidence": float, "verdict": str, "turns": int, "calls": int,
                    "input_tokens": int, "output_tokens": int, "duration_s": float, "models": str,
                    "source": str, "started_at": str, "finished_at": str},
        "pk": "debate_id",
        "foreign_keys": [("experiment", "experiments", "name")],
        "indexes": [["experiment", "status"], ["experiment", "config"], ["experiment", "scenario_id", "repeat"]],
    },
    "turns": {
        "columns": {"turn_id": str, "debate_id": str, "idx": int, "round": int, "role": str, "agent": str,
                    "model": str, "stance": str, "kind": str, "text": str, "thinking": str, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "done_reason": str, "truncated": int, "calls": int},
        "pk": "turn_id",
        "foreign_keys": [("debate_id", "debates", "debate_id")],
        "indexes": [["debate_id", "idx"]],
    },
    "model_calls": {
        "columns": {"call_id": str, "experiment": str, "debate_id": str, "judgment_id": str, "stage": str,
                    "agent": str, "host": str, "model": str, "digest": str, "calls": int, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "cached": int},
        "pk": "call_id",
        "foreign_keys": [("debate_id", "debates", "debate_id"), ("judgment_id", "judgments", "judgment_id")],
        "indexes": [["experiment", "stage"], ["debate_id"], ["judgment_id"]],
    },
    "judgments": {
        "columns": {"judgment_id": str, "experiment": str, "debate_id": str, "rubric": str, "rubric_version": str,
                    "judge": str, "sample": int, "permuted": int, "overall": float, "n_scored": int,
                    "n_unscored": int, "speaker_order": str, "finished_at": str, "prompt_version": str},
        "pk": "judgment_id",
        "foreign_keys": [("debate_id", "debates", "debate_id")],
        "indexes": [["experiment", "rubric_version"], ["debate_id"]],
    },
    "scores": {
        "columns": {"score_id": str, "judgment_id": str, "experiment": str, "debate_id": str, "rubric": str,
                    "rubric_version": str, "judge": str, "sample": int, "permuted": int, "criterion": str,
                    "score": int, "unscored_reason": str, "rationale": str, "attempts": int, "prompt_version": str},
        "pk": "score_id",
        "foreign_keys": [("judgment_id", "judgments", "judgment_id")],
        "indexes": [["experiment", "rubric_version", "criterion"], ["debate_id"], ["judgment_id"]],
    },
    "qa_calls": {
        "columns": {"call_id": str, "experiment": str, "split": str, "question_id": str, "agent": str, "kind": str,
                    "sample": int, "letter": str, "truth": str, "correct": int, "text": str,
                    "unanswered_reason": str, "model": str, "input_tokens": int, "output_tokens": int,
                    "duration_s": float, "calls": int, "option_probs": str, "option_mass": float},
        "pk": "call_id",
        "indexes": [["experiment", "kind", "split"], ["experiment", "question_id"]],
    },
    "results": {
        "columns": {"key": str, "experiment": str, "name": str, "value": str, "computed_at": str},
        "pk": "key",
        "indexes": [["experiment"]],
    },
    "pair_judgments": {
        "columns": {"pair_judgment_id": str, "experiment": str, "pair_key": str, "debate_a": str, "debate_b": str,
                    "config_a": str, "config_b": str, "scenario_id": str, "repeat": int, "rubric": str,
                    "rubric_version": str, "judge": str, "ord": str, "finished_at": str},
        "pk": "pair_judgment_id",
        "foreign_keys": [("debate_a", "debates", "debate_id"), ("debate_b", "debates", "debate_id")],
        "indexes": [["experiment", "rubric_version"], ["debate_a"], ["debate_b"]],
    },
    "pair_verdicts": {
        "columns": {"verdict_id": str, "pair_judgment_id": str, "experiment": str, "criterion": str, "winner": str,
                    "reasons": str, "unscored_reason": str, "attempts": int, "input_tokens": int,
                    "output_tokens": int, "duration_s": float},
        "pk": "verdict_id",
        "foreign_keys": [("pair_judgment_id", "pair_judgments", "pair_judgment_id")],
        "indexes": [["pair_judgment_id"], ["experiment", "criterion"]],
    },
    "judge_audits": {
        "columns": {"audit_id": str, "judge": str, "pair_set": str, "n": int, "seed": int, "provenance": str,
                    "metrics": str, "accuracy": float, "position_consistency": float, "computed_at": str},
        "pk": "audit_id",
        "indexes": [["judge", "computed_at"]],
    },
    "audit_calls": {
        "columns": {"call_id": str, "audit_id": str, "judge": str, "pair_set": str, "item_id": str, "category": str,
                    "ord": str, "chosen": str, "label": str, "correct": int, "len_a": int, "len_b": int,
                    "model_a": str, "model_b": str, "reasons": str, "unscored_reason": str, "attempts": int,
                    "input_tokens": int, "output_tokens": int, "duration_s": float, "finished_at": str},
        "pk": "call_id",
        "indexes": [["audit_id"]],
    },
    "reliability": {
        "columns": {"key": str, "experiment": str, "rubric": str, "rubric_version": str, "criterion": str,
                    "alpha_ordinal": float, "judges": int, "flip_rate": float, "flip_pairs": int,
                    "unscored_rate": float, "criterion_judgments": int, "computed_at": str, "prompt_version": str},
        "pk": "key",
        "indexes": [["experiment", "rubric_version"]],
    },
    "oversight_trials": {
        "columns": {"trial_id": str, "experiment": str, "protocol": str, "question_id": str, "question": str,
                    "truth": str, "matchup": str, "correct_debater": str, "incorrect_debater": str, "sides": str,
                    "chosen": str, "rounds": int, "simultaneous": int, "fingerprint": str, "calls": int,
                    "input_tokens": int, "output_tokens": int, "duration_s": float, "finished_at": str},
        "pk": "trial_id",
        "foreign_keys": [("experiment", "experiments", "name")],
        "indexes": [["experiment", "protocol"]],
    },
    "oversight_turns": {
        "columns": {"turn_id": str, "trial_id": str, "experiment": str, "idx": int, "round": int, "kind": str,
                    "position": str, "agent": str, "debater": str, "model": str, "letter": str, "side": str,
                    "text": str, "shown": str, "quotes": int, "verified_quotes": int, "candidates": int,
                    "preference_scores": str, "unanswered_reason": str, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "calls": int},
        "pk": "turn_id",
        "foreign_keys": [("trial_id", "oversight_trials", "trial_id")],
        "indexes": [["trial_id", "idx"], ["experiment"]],
    },
    "oversight_verdicts": {
        "columns": {"verdict_id": str, "trial_id": str, "experiment": str, "protocol": str, "question_id": str,
                    "judge": str, "letter": str, "truth": str, "correct": int, "probability": float,
                    "reasons": str, "unanswered_reason": str, "input_tokens": int, "output_tokens": int,
                    "duration_s": float, "calls": int, "finished_at": str},
        "pk": "verdict_id",
        "foreign_keys": [("trial_id", "oversight_trials", "trial_id")],
        "indexes": [["experiment", "protocol", "judge"], ["trial_id"]],
    },
    "judge_beliefs": {
        "columns": {"belief_id": str, "trial_id": str, "experiment": str, "judge": str, "source": str,
                    "after_round": int, "probabilities": str, "p_correct": float, "letter": str,
                    "unanswered_reason": str, "input_tokens": int, "output_tokens": int, "duration_s": float,
                    "calls": int},
        "pk": "belief_id",
        "foreign_keys": [("trial_id", "oversight_trials", "trial_id")],
        "indexes": [["experiment", "judge"], ["trial_id"]],
    },
    "stance_readings": {
        "columns": {"reading_id": str, "experiment": str, "debate_id": str, "turn_id": str, "idx": int,
                    "round": int, "agent": str, "assigned_stance": str, "position": str, "conceded": int,
                    "could_concede": int, "reasons": str, "unread_reason": str, "reader": str, "digest": str,
                    "prompt_version": str, "attempts": int, "input_tokens": int, "output_tokens": int,
                    "duration_s": float, "finished_at": str},
        "pk": "reading_id",
        "foreign_keys": [("debate_id", "debates", "debate_id")],
        "indexes": [["experiment", "reader", "prompt_version"], ["debate_id"]],
    },
}

TIMESTAMP_COLUMNS = ("created_at", "updated_at", "started_at", "finished_at", "computed_at")
# Tables are created parents first, so every foreign key points at a table that exists.
CREATION_ORDER = ["experiments", "debates", "judgments", "turns", "model_calls", "scores", "qa_calls", "results",
                  "reliability", "judge_audits", "audit_calls", "pair_judgments", "pair_verdicts",
                  "oversight_trials", "oversight_turns", "oversight_verdicts", "judge_beliefs",
                  "stance_readings"]


def iso_timestamp(value: float | str | None = None) -> str | None:
    """ISO-8601 UTC with milliseconds (`2026-11-23T18:36:00.123+00:00`); now when no value is given."""
    if isinstance(value, str):
        return value
    seconds = time.time() if value is None else float(value)
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def with_iso_times(row: dict[str, Any]) -> dict[str, Any]:
    """Callers may pass epoch seconds; the file always holds ISO-8601 text."""
    fixed = {k: iso_timestamp(v) for k, v in row.items() if k in TIMESTAMP_COLUMNS and isinstance(v, int | float)}
    return {**row, **fixed} if fixed else row


# Human raters are judges named `human:<rater>`: the store's queries tell people from models by it.
HUMAN_PREFIX = "human:"


def is_human(judge: str) -> bool:
    """Whether a judge name is a person's (`human:<rater>`), not a model's."""
    return judge.startswith(HUMAN_PREFIX)
