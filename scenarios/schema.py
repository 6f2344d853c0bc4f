"""The scenario schema and the loader for scenario sets.

A set is named (`paper`, `alignment-v1`) when it ships in `scenarios/sets/`, or given as a path
to the user's own YAML file with the same shape.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from debatelab.base import UserError, load_yaml_model, package_dir

SETS_DIR = package_dir("debatelab.scenarios") / "sets"


class Scenario(BaseModel):
    """One motion to debate, with what makes it an alignment question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    motion: str = Field(min_length=5)
    category: str
    description: str = ""
    alignment_focus: str = ""
    context: str | None = None
    stakeholders: list[str] = Field(default_factory=list)
    used_in_study: bool = False
    study_order: int | None = None


class ScenarioSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str = ""
    source: str = ""
    notes: str = ""
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> ScenarioSet:
        seen: set[str] = set()
        for s in self.scenarios:
            if s.id in seen:
                raise ValueError(f"duplicate scenario id {s.id!r}")
            seen.add(s.id)
        return self

    def get(self, scenario_id: str) -> Scenario:
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise UserError(
            f"unknown scenario id {scenario_id!r} in set '{self.name}'; list them with `debatelab scenarios {self.name}`"
        )

    def select(self, ids: list[str] | None = None, *, study_only: bool = False) -> list[Scenario]:
        if ids:
            return [self.get(i) for i in ids]
        chosen = [s for s in self.scenarios if s.used_in_study] if study_only else list(self.scenarios)
        return sorted(chosen, key=lambda s: s.study_order or 0) if study_only else chosen


def available_sets() -> list[str]:
    return sorted(p.stem for p in SETS_DIR.glob("*.yaml"))


def load_scenario_set(name_or_path: str | Path) -> ScenarioSet:
    """Load a shipped set by name or a user's set by path."""
    candidate = Path(name_or_path)
    if not candidate.suffix and not candidate.is_file():
        shipped = SETS_DIR / f"{name_or_path}.yaml"
        if shipped.is_file():
            candidate = shipped
        else:
            raise UserError(
                f"unknown scenario set {str(name_or_path)!r}; shipped sets: {', '.join(available_sets())}, "
                f"or give a path to a YAML file"
            )
    return load_yaml_model(ScenarioSet, candidate)
