"""The run's live display: debates and judgments done/total, model calls, tokens/s and ETA.

On a terminal it is a rich progress bar. When output is not a terminal (a log file, CI, a
pipe) a bar would print nothing until the end, so a plain line goes out every few seconds
instead. `--quiet` and `--json` replace both with nothing; the runner only calls these methods.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

PLAIN_EVERY_S = 5.0


class RunProgress:
    def __init__(self, console: Console, *, enabled: bool = True, plain_every_s: float = PLAIN_EVERY_S) -> None:
        self.enabled = enabled
        self.calls = 0
        self.output_tokens = 0
        self.started = time.monotonic()
        self.console = console
        self.plain = bool(enabled and console is not None and not console.is_terminal)
        self.plain_every_s = plain_every_s
        self._progress = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[stats]}"),
            console=console, disable=not enabled or self.plain, transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._counts: dict[str, list[int]] = {}  # stage -> [done, total], for the plain lines
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._on_first_call: list[Callable[[], object]] = []

    def __enter__(self) -> RunProgress:
        self._progress.__enter__()
        if self.plain:
            self._ticker = threading.Thread(target=self._tick, name="debatelab-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
            self.console.print(self.plain_line(), highlight=False, markup=False)
        self._progress.__exit__(*exc)

    def _tick(self) -> None:
        while not self._stop.wait(self.plain_every_s):
            self.console.print(self.plain_line(), highlight=False, markup=False)

    def plain_line(self) -> str:
        elapsed = time.monotonic() - self.started
        stages = " · ".join(f"{name} {done}/{total}" for name, (done, total) in self._counts.items()) or "starting"
        return (f"progress: {stages} · {self.calls} calls · {self.output_tokens / max(elapsed, 1e-6):.0f} tok/s · "
                f"{elapsed:.0f}s")

    def stage(self, name: str, total: int, done: int = 0) -> None:
        """Start a stage, or restate its total and progress (a stage's total may grow as work arrives)."""
        if name in self._tasks:
            self._progress.update(self._tasks[name], total=total, completed=done)
        else:
            self._tasks[name] = self._progress.add_task(name, total=total, completed=done, stats="")
        self._counts[name] = [done, total]

    def advance(self, name: str) -> None:
        self._progress.advance(self._tasks[name])
        self._counts[name][0] += 1
        self._refresh()

    def after_first_call(self, callback: Callable[[], object]) -> None:
        """Run `callback` once, when the run first counts calls (its first debate, judgment or audit
        item is done: start-up is over and calls are in flight); the CLI starts importing what the
        report needs then. A run that makes no call never runs it."""
        self._on_first_call.append(callback)

    def count_calls(self, calls: int, output_tokens: int) -> None:
        first = self.calls == 0 and calls > 0
        self.calls += calls
        if first:
            callbacks, self._on_first_call = self._on_first_call, []
            for callback in callbacks:
                callback()
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
