"""Importing what only a run's end needs while the run waits for its models.

After its last model call a run analyses the store and writes its report, which imports
scipy.stats, matplotlib and the report's modules: ~2 s on two cores, all of it after the last
answer, when nothing else can happen. During the run the client mostly waits on model calls (on a
GPU host its CPU is idle; on the embedded model llama.cpp leaves it ~20% of the cores), so those
imports are taken off the end: a background thread imports them once the run first counts calls
(its first debate, judgment or audit item is done), when its start-up work is over and its calls
are in flight.

The thread only imports; if an import fails it stops quietly, and the same import after the run
raises the error where it is reported as usual. What it imported lives as long as the process, so
it is frozen out of the garbage collector like the start-up heap (`freeze_startup_heap`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

from debatelab.runtime.heap import freeze_startup_heap


def import_in_background(modules: Iterable[str]) -> threading.Thread:
    """Import `modules` on a daemon thread; returns the thread (join it to wait, never required)."""
    names = tuple(modules)

    def work() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the import after the run reports it
                return
        freeze_startup_heap()

    thread = threading.Thread(target=work, name="debatelab-background-imports", daemon=True)
    thread.start()
    return thread
