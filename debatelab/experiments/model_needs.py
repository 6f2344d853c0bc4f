"""Which model specs a configuration or experiment file needs (for `debatelab models --config`)."""

from __future__ import annotations

from pathlib import Path

from debatelab.agents import ModelSpec
from debatelab.base import read_yaml, resolve_config_file
from debatelab.experiments.spec import load_experiment
from debatelab.experiments.weak_to_strong import strong_spec, weak_config
from debatelab.graphs import load_debate_config


def model_specs_in_file(ref: str | Path) -> list[ModelSpec]:
    """Every (host, model) a debate configuration or an experiment (debaters, judges, weak and
    strong models) would call, deduplicated. `ref`: a path or a built-in name."""
    path = resolve_config_file(ref)
    data = read_yaml(path)
    specs: list[ModelSpec] = []
    if isinstance(data, dict) and ("configurations" in data or "baselines" in data or "w2s" in data):
        exp = load_experiment(path)
        if exp.w2s is not None:
            config = weak_config(exp)
            specs += [config.model_for(a) for a in config.agents] + [strong_spec(exp)]
        for _, config in exp.debate_configs() if exp.kind == "debates" else []:
            specs += [config.model_for(a) for a in config.agents]
        if exp.judging is not None and exp.kind == "debates":
            specs += exp.judging.judge_specs()
    else:
        config = load_debate_config(path)
        specs += [config.model_for(a) for a in config.agents]
    unique: dict[tuple[str | None, str], ModelSpec] = {}
    for spec in specs:
        unique.setdefault((spec.host, spec.model), spec)
    return list(unique.values())
