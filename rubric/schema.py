"""Rubrics: versioned scoring instructions for the judging graph.

A rubric is a YAML file: id, title, a scale, criteria (each a question for the judge, a weight
and anchor descriptions for score levels) and how the overall score is formed. Its version is
a hash of its content, stored with every score, so scores from two wordings never mix.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from debatelab.base import UserError, describe_validation_error, package_dir, read_yaml

RUBRICS_DIR = package_dir("debatelab.rubric")
OVERALL = "overall"  # the name of a judgment's overall score wherever scores are tabled beside criteria
_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:-|–|\.\.)\s*(-?\d+)\s*$")


def anchor_levels(key: Any) -> tuple[int, int]:
    """An anchor key is a level (4) or a range ("1-3"); returns (low, high)."""
    if isinstance(key, int):
        return key, key
    m = _RANGE.match(str(key))
    if m:
        return int(m.group(1)), int(m.group(2))
    if str(key).strip().lstrip("-").isdigit():
        return int(key), int(key)
    raise ValueError(f"anchor key {key!r} is not a level or a range like '1-3'")


MAX_SCALE_LEVELS = 101  # 0-100 is the widest scale a judge is asked to use


class Scale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: int = Field(ge=-1000, le=1000)
    max: int = Field(ge=-1000, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(f"scale min ({self.min}) must be below max ({self.max})")
        if self.max - self.min + 1 > MAX_SCALE_LEVELS:
            raise ValueError(f"scale {self.min}-{self.max} has more than {MAX_SCALE_LEVELS} levels; a judge cannot "
                             f"use it reliably")
        return self


class RubricCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    question: str = Field(min_length=10)
    weight: float = Field(gt=0.0, le=1000.0, allow_inf_nan=False, description="finite and positive")
    anchors: dict[str, str] = Field(default_factory=dict)

    @field_validator("anchors", mode="before")
    @classmethod
    def _keys_as_text(cls, v: Any) -> Any:
        return {str(k): val for k, val in v.items()} if isinstance(v, dict) else v


class OverallRule(BaseModel):
    """Overall = weighted mean of criterion scores; None unless enough criteria were scored."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["weighted_mean"] = "weighted_mean"
    min_scored_fraction: float = Field(default=1.0, gt=0.0, le=1.0)


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str
    description: str = ""
    source: str = ""
    scale: Scale
    criteria: list[RubricCriterion] = Field(min_length=1)
    overall: OverallRule = Field(default_factory=OverallRule)
    version: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        problems = rubric_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def criterion(self, criterion_id: str) -> RubricCriterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def overall_score(self, scores: dict[str, int | None]) -> float | None:
        """Weighted mean over scored criteria, or None when too few were scored (never imputed)."""
        scored = [(c.weight, scores[c.id]) for c in self.criteria if scores.get(c.id) is not None]
        if not scored or len(scored) / len(self.criteria) < self.overall.min_scored_fraction:
            return None
        total_weight = sum(w for w, _ in scored)
        if total_weight <= 0:
            return None
        return round(sum(w * s for w, s in scored) / total_weight, 4)


def rubric_problems(rubric: Rubric) -> list[str]:
    """Consistency problems a schema cannot express: ids, weights, anchors."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, c in enumerate(rubric.criteria):
        where = f"criteria.{i} ({c.id})"
        if c.id in seen:
            problems.append(f"{where}: duplicate criterion id {c.id!r}")
        seen.add(c.id)
        covered: list[tuple[int, int, str]] = []
        for key in c.anchors:
            try:
                lo, hi = anchor_levels(key)
            except ValueError as exc:
                problems.append(f"{where}.anchors: {exc}")
                continue
            if lo > hi or lo < rubric.scale.min or hi > rubric.scale.max:
                problems.append(f"{where}.anchors.{key}: outside the scale {rubric.scale.min}-{rubric.scale.max}")
                continue  # never enumerate an out-of-scale range: "1-1000000000000" would exhaust memory
            for olo, ohi, okey in covered:
                if lo <= ohi and olo <= hi:
                    problems.append(f"{where}.anchors: {key!r} overlaps {okey!r}")
            covered.append((lo, hi, key))
        levels = {lv for lo, hi, _ in covered for lv in range(lo, hi + 1)}
        for end in (rubric.scale.min, rubric.scale.max):
            if c.anchors and end not in levels:
                problems.append(f"{where}.anchors: no anchor for scale end {end}")
        if not c.anchors:
            problems.append(f"{where}.anchors: missing; anchor at least the scale's ends and middle")
    if sum(c.weight for c in rubric.criteria) <= 0:
        problems.append("criteria: weights sum to 0; give at least one criterion a positive weight")
    return problems


def _version(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "version"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def resolve_rubric_path(name_or_path: str | Path) -> Path:
    """A rubric file: a path that exists wins; else a shipped rubric id (`alignment-7`)."""
    p = Path(name_or_path)
    if p.is_file() or p.suffix in (".yaml", ".yml"):
        return p
    shipped = RUBRICS_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(shipped_rubric_ids())
    raise UserError(f"unknown rubric {str(name_or_path)!r}; shipped rubrics: {known}, or give a YAML path")


def shipped_rubric_ids() -> list[str]:
    """The rubrics that ship with debatelab, by id."""
    return sorted(x.stem for x in RUBRICS_DIR.glob("*.yaml"))


def shipped_rubric(rubric_id: str | None) -> Rubric | None:
    """A shipped rubric by id, or None when no rubric of that id ships (a user's own file)."""
    if not rubric_id or rubric_id not in shipped_rubric_ids():
        return None
    return load_rubric(rubric_id)


def load_rubric(name_or_path: str | Path) -> Rubric:
    """Load a shipped rubric by id or a rubric file by path; version = hash of its content."""
    path = resolve_rubric_path(name_or_path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: a rubric must be a mapping with id, title, scale and criteria")
    try:
        rubric = Rubric.model_validate({**data, "version": _version(data)})
    except ValidationError as exc:
        raise UserError(describe_validation_error(str(path), exc)) from None
    return rubric


def lint_rubric(path: str | Path) -> list[str]:
    """Every problem in a rubric file or shipped rubric, each naming its field (empty list = clean)."""
    p = resolve_rubric_path(path)
    data = read_yaml(p)
    if not isinstance(data, dict):
        return [f"{p}: a rubric must be a mapping with id, title, scale and criteria"]
    problems: list[str] = []
    try:
        Rubric.model_validate({**data, "version": "lint"})
        return []
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            for line in err["msg"].removeprefix("Value error, ").splitlines():
                problems.append(f"{p}: field '{loc}': {line}" if loc else f"{p}: {line}")
    # Schema errors stop pydantic early; also run the consistency checks on what can be read,
    # reporting each field once.
    def add(field: str, message: str) -> None:
        if not any(f"field '{field}'" in x for x in problems):
            problems.append(f"{p}: field '{field}': {message}")

    scale = data.get("scale") or {}
    criteria = data.get("criteria") if isinstance(data.get("criteria"), list) else []
    ids = [c.get("id") for c in criteria if isinstance(c, dict) and isinstance(c.get("id"), str)]
    for dup in sorted({i for i in ids if ids.count(i) > 1 and i is not None}):
        add("criteria", f"duplicate criterion id {dup!r}")
    if isinstance(scale, dict) and isinstance(scale.get("min"), int) and isinstance(scale.get("max"), int):
        if scale["min"] >= scale["max"]:
            add("scale", f"min ({scale['min']}) must be below max ({scale['max']})")
    for i, c in enumerate(criteria):
        if isinstance(c, dict) and isinstance(c.get("weight"), int | float) and c["weight"] < 0:
            add(f"criteria.{i}.weight", f"negative weight {c['weight']}")
    return sorted(set(problems))
