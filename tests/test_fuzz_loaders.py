"""Property-based fuzzing of every loader: for any input, a valid object or one clean UserError,
never another exception (a traceback for the user)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debatelab.base import UserError
from debatelab.graphs import build_graph, load_debate_config
from debatelab.judging import load_transcript
from debatelab.rubric import lint_rubric, load_rubric
from debatelab.scenarios import load_questions, load_scenario_set
from debatelab.store import Store, import_paper
from debatelab.studies import load_experiment

# DEBATELAB_FUZZ_EXAMPLES=400 for a longer local run; CI uses 40 per property.
FUZZ = settings(max_examples=int(os.environ.get("DEBATELAB_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.text(max_size=30)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=12), inner, max_size=4), max_leaves=20)


def _valid(name: str) -> dict[str, Any]:
    from debatelab.base import resolve_config_file

    return yaml.safe_load(resolve_config_file(name).read_text())


BASES = {
    "config": _valid("embedded/critiqued"),
    "custom": _valid("examples/custom-loop"),
    "experiment": _valid("experiments/demo"),
    "rubric": yaml.safe_load((Path(__file__).resolve().parent.parent / "rubric" / "alignment-7.yaml").read_text()),
    "scenarios": {"id": "s", "title": "t", "scenarios": [{"id": "a", "category": "c", "motion": "Should we?"}]},
}


def _mutate(data: Any, path: list[Any], value: Any) -> Any:
    """Replace the value at `path` (as far as it goes) with `value`."""
    if not path or not isinstance(data, dict | list) or not data:
        return value
    if isinstance(data, dict):
        key = list(data)[path[0] % len(data)]
        return {**data, key: _mutate(data[key], path[1:], value)}
    i = path[0] % len(data)
    return [*data[:i], _mutate(data[i], path[1:], value), *data[i + 1:]]


def _check(loader: Any, text: str | bytes, suffix: str = ".yaml") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            loader(path)
        except UserError as exc:
            message = str(exc)
            assert message and "Traceback" not in message


def _config(path: Path) -> None:
    build_graph(load_debate_config(path))


def _experiment(path: Path) -> None:
    exp = load_experiment(path)
    exp.debate_configs()
    exp.scenario_list()
    exp.rubric()


def _rubric(path: Path) -> None:
    lint_rubric(path)
    load_rubric(path)


def _transcript(path: Path) -> None:
    from debatelab.base import read_user_json

    load_transcript(read_user_json(path), str(path))


def _paper(path: Path) -> None:
    store = Store.open(path.parent / "r.db")
    try:
        import_paper(path, store, "fuzz")
    finally:
        store.close()


LOADERS = {"config": _config, "custom": _config, "experiment": _experiment, "rubric": _rubric,
           "scenarios": load_scenario_set}


@FUZZ
@given(st.sampled_from(sorted(LOADERS)), st.lists(st.integers(0, 50), max_size=5), values)
def test_mutated_files_load_or_fail_cleanly(kind: str, path: list[int], value: Any) -> None:
    data = _mutate(BASES[kind], path, value)
    _check(LOADERS[kind], yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(st.sampled_from(sorted(LOADERS)), values)
def test_arbitrary_documents_load_or_fail_cleanly(kind: str, value: Any) -> None:
    _check(LOADERS[kind], yaml.safe_dump(value, allow_unicode=True))


@FUZZ
@given(st.sampled_from(sorted(LOADERS)), st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes_load_or_fail_cleanly(kind: str, raw: bytes | str) -> None:
    _check(LOADERS[kind], raw)


@FUZZ
@given(values)
def test_transcripts_and_question_files_load_or_fail_cleanly(value: Any) -> None:
    _check(_transcript, json.dumps(value), ".json")
    _check(lambda p: load_questions(str(p)), json.dumps(value) + "\n" + json.dumps(value), ".jsonl")
    _check(lambda p: load_questions(str(p)), yaml.safe_dump(value, allow_unicode=True), ".yaml")
    _check(_paper, json.dumps(value), ".json")


@FUZZ
@given(st.lists(st.integers(0, 50), max_size=6), values)
def test_mutated_paper_results_import_or_fail_cleanly(path: list[int], value: Any) -> None:
    sample = json.loads((Path(__file__).resolve().parent / "data" / "paper_sample_results.json").read_text())
    _check(_paper, json.dumps(_mutate(sample, path, value)), ".json")
