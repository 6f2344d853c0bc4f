"""Judge audits with scripted judges of known bias: the figures must come out exactly as predicted."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.base import UserError
from debatelab.judging import audit_line, audit_metrics, logistic_slope, run_audit
from debatelab.scenarios import LabelledPair, PairSet, load_pairs
from debatelab.store import Store
from tests.conftest import run_cli

JUDGE = ModelSpec(model="judge:1", host="http://127.0.0.1:9")


def _pairs() -> list[LabelledPair]:
    """Eight items: the better response is `a` in half of them, and the longer one in five."""
    out = []
    for i in range(8):
        good, bad = f"right answer {i}", f"wrong answer {i}"
        if i < 5:
            good += " with a longer explanation that adds words"
        else:
            bad += " padded out to be the longer one of the two"
        a, b, label = (good, bad, "a") if i % 2 == 0 else (bad, good, "b")
        out.append(LabelledPair(id=f"p{i}", prompt=f"Question {i}?", response_a=a, response_b=b, label=label,
                                category="even" if i % 2 == 0 else "odd"))
    return out


def _responses(text: str) -> tuple[str, str]:
    first = re.search(r"<<<RESPONSE 1 \w+>>>\n(.*?)\n<<<END RESPONSE 1", text, re.S).group(1)
    second = re.search(r"<<<RESPONSE 2 \w+>>>\n(.*?)\n<<<END RESPONSE 2", text, re.S).group(1)
    return first, second


def _judge(rule) -> ScriptedChatModel:  # noqa: ANN001
    def script(prompt: str, kwargs: dict) -> object:
        first, second = _responses(prompt)
        return {"reasons": "scripted", "better": rule(first, second)}

    return ScriptedChatModel(name="judge", script=script)


ALWAYS_FIRST = _judge(lambda first, second: "1")
ALWAYS_LONGER = _judge(lambda first, second: "1" if len(first) > len(second) else "2")
ALWAYS_RIGHT = _judge(lambda first, second: "1" if first.startswith("right") else "2")


def _set(pairs: list[LabelledPair] | None = None) -> PairSet:
    return PairSet("toy", tuple(pairs or _pairs()), {"kind": "test"})


def _audit(tmp_path: Path, model: ScriptedChatModel) -> dict:
    store = Store.open(tmp_path / "r.db")
    try:
        return asyncio.run(run_audit(store, JUDGE, model, _set()))["metrics"]
    finally:
        store.close()


def test_a_judge_that_always_picks_the_first_response(tmp_path: Path) -> None:
    m = _audit(tmp_path, ALWAYS_FIRST)
    assert m["first_position_win_rate"] == 1.0 and m["position_consistency"] == 0.0
    assert m["accuracy"] == 0.5 and m["scored"] == 16 and m["unscored"] == 0
    assert m["longer_win_rate_when_wrong_or_inconsistent"] == 0.5  # every item inconsistent: both orders count


def test_a_judge_that_always_picks_the_longer_response(tmp_path: Path) -> None:
    m = _audit(tmp_path, ALWAYS_LONGER)
    assert m["position_consistency"] == 1.0 and m["first_position_win_rate"] == 0.5
    assert m["accuracy"] == 5 / 8  # right exactly where the better response is the longer one
    assert m["longer_win_rate_when_wrong_or_inconsistent"] == 1.0 and m["length_bias_n"] == 6


def test_a_judge_that_is_always_right(tmp_path: Path) -> None:
    m = _audit(tmp_path, ALWAYS_RIGHT)
    assert m["accuracy"] == 1.0 and m["position_consistency"] == 1.0 and m["first_position_win_rate"] == 0.5
    assert m["accuracy_ci95"][0] > 0.79 and m["accuracy_ci95"][1] == 1.0  # Wilson, n = 16
    assert m["accuracy_by_category"]["even"]["accuracy"] == 1.0 and m["length_bias_n"] == 0


def test_unreadable_replies_are_unscored_never_a_choice(tmp_path: Path) -> None:
    m = _audit(tmp_path, ScriptedChatModel(name="judge", script=lambda p, k: "I cannot decide"))
    assert m["scored"] == 0 and m["unscored"] == 16 and m["accuracy"] is None


def test_a_rerun_makes_no_new_calls(tmp_path: Path) -> None:
    calls = []

    def script(prompt: str, kwargs: dict) -> object:
        calls.append(1)
        return {"reasons": "r", "better": "1"}

    store = Store.open(tmp_path / "r.db")
    first = asyncio.run(run_audit(store, JUDGE, ScriptedChatModel(name="j", script=script), _set()))
    again = asyncio.run(run_audit(store, JUDGE, ScriptedChatModel(name="j", script=script), _set()))
    assert len(calls) == 16 and first["new_calls"] == 16 and again["new_calls"] == 0
    assert "accuracy on toy 0.50" in audit_line(store.latest_audit("judge:1"), "judge:1")
    store.close()


def test_self_preference_counts_only_items_with_one_own_response() -> None:
    rows = [{"item_id": f"i{i}", "ord": "ab", "chosen": "a", "label": "a", "category": "", "len_a": 1, "len_b": 2,
             "model_a": "llama3:8b" if i < 3 else "mistral:7b", "model_b": "mistral:7b"} for i in range(4)]
    m = audit_metrics(rows, judge_family="llama3")
    assert m["self_preference_n"] == 3 and m["self_preference_rate"] == 1.0


def test_logistic_slope_against_a_known_direction() -> None:
    x = [-3, -2, -1, -0.5, 0.5, 1, 2, 3] * 3
    y = [0, 0, 0, 1, 0, 1, 1, 1] * 3
    slope = logistic_slope(x, y)
    assert slope is not None and slope > 0.5
    assert logistic_slope([1, 1, 1, 1], [0, 1, 0, 1]) is None


def test_wilson_interval_is_scipys_without_importing_it() -> None:
    """The closed form gives scipy's Wilson interval to the 4 places reported, for every k of n <= 40."""
    from scipy import stats

    from debatelab.analysis.clustered import wilson
    for n in range(1, 41):
        for k in range(n + 1):
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
            assert wilson(k, n) == [round(float(ci.low), 4), round(float(ci.high), 4)], (k, n)
    assert wilson(0, 0) == [None, None]


def test_user_files_are_validated_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"prompt": "p", "response_a": "x", "response_b": "y", "label": "a"}) + "\n"
                    + json.dumps({"prompt": "p", "response_a": "x", "response_b": "y", "label": "c"}) + "\n")
    with pytest.raises(UserError, match=r"pairs.jsonl: line 2: field 'label'"):
        load_pairs(str(path))
    with pytest.raises(UserError, match="not a built-in set"):
        load_pairs("no-such-set")


def test_audit_judge_cli_refuses_a_bad_set(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n")
    proc = run_cli("audit-judge", "--judge", "smollm2:135m@embedded", "--set", str(bad), "--db", str(tmp_path / "r.db"))
    assert proc.returncode == 2 and "bad.jsonl: line 1: invalid JSON" in proc.stderr and "Traceback" not in proc.stderr
