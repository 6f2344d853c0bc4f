"""Which model specs a configuration or experiment file needs (for `debatelab models --config`)."""

from __future__ import annotations

from pathlib import Path

from debatelab.agents import ModelSpec
from debatelab.base import read_yaml, resolve_config_file
from debatelab.graphs import load_debate_config
from debatelab.studies.loading import load_experiment
from debatelab.studies.registry import study_named

# Fields only an experiment file has (a debate configuration has agents, a topology, rounds...).
EXPERIMENT_FIELDS = ("kind", "configurations", "baselines", "w2s", "questions", "debaters")


def model_specs_in_file(ref: str | Path) -> list[ModelSpec]:
    """Every (host, model) a debate configuration or an experiment (of any study) would call,
    deduplicated. `ref`: a path or a built-in name."""
    path = resolve_config_file(ref)
    data = read_yaml(path)
    if isinstance(data, dict) and any(k in data for k in EXPERIMENT_FIELDS):
        exp = load_experiment(path)
        specs = study_named(exp.kind).model_specs(exp)
    else:
        config = load_debate_config(path)
        specs = [config.model_for(a) for a in config.agents]
    unique: dict[tuple[str | None, str], ModelSpec] = {}
    for spec in specs:
        unique.setdefault((spec.host, spec.model), spec)
    return list(unique.values())
