"""The report of an experiment on labelled questions, whichever study it ran (debate as oversight,
debate on questions or weak-to-strong): the stored results say which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from debatelab.report.dynamics import print_dynamics_summary, write_dynamics_report
from debatelab.report.oversight import print_oversight_summary, write_oversight_report
from debatelab.report.weak_to_strong import print_w2s_summary, write_w2s_report
from debatelab.store import Store


def write_questions_report(store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
    if store.result(f"{experiment}:oversight") is not None:
        return write_oversight_report(store, experiment, out_dir)
    if store.result(f"{experiment}:dynamics") is not None:
        return write_dynamics_report(store, experiment, out_dir)
    return write_w2s_report(store, experiment, out_dir)


def print_questions_summary(console: Console, experiment: str, results: dict[str, Any]) -> None:
    if "oversight" in results:
        print_oversight_summary(console, experiment, results)
    elif "dynamics" in results:
        print_dynamics_summary(console, experiment, results)
    else:
        print_w2s_summary(console, experiment, results)
