"""The run's live display: debates and judgments done/total, model calls, tokens/s and ETA.

`--quiet` and `--json` replace it with nothing; the runner only calls these methods.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RunProgress:
    def __init__(self, console: Console, *, enabled: bool = True):
        self.enabled = enabled
        self.calls = 0
        self.output_tokens = 0
        self.started = time.monotonic()
        self._progress = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[stats]}"),
            console=console, disable=not enabled, transient=False,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RunProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def stage(self, name: str, total: int, done: int = 0) -> None:
        self._tasks[name] = self._progress.add_task(name, total=total, completed=done, stats="")

    def advance(self, name: str) -> None:
        self._progress.advance(self._tasks[name])
        self._refresh()

    def count_calls(self, calls: int, output_tokens: int) -> None:
        self.calls += calls
        self.output_tokens += output_tokens
        self._refresh()

    def log(self, message: str) -> None:
        if self.enabled:
            self._progress.console.print(message, highlight=False)

    def _refresh(self) -> None:
        elapsed = max(1e-6, time.monotonic() - self.started)
        text = f"{self.calls} calls · {self.output_tokens / elapsed:.0f} tok/s"
        for task in self._tasks.values():
            self._progress.update(task, stats=text)
