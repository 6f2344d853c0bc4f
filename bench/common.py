"""Shared pieces of the benchmarks: a figure record, timing, experiment files."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One benchmark figure: what was measured, against what, the target, and whether it was met."""

    name: str
    value: float | None
    unit: str
    target: str
    passed: bool | None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def write_experiment(path: Path, **spec: Any) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path
