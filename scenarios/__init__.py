"""Scenarios: WHAT is debated. A pydantic schema and YAML sets (`sets/*.yaml`)."""

from debatelab.scenarios.schema import Scenario, ScenarioSet, available_sets, load_scenario_set

__all__ = ["Scenario", "ScenarioSet", "available_sets", "load_scenario_set"]
