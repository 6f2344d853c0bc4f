"""What the commands share: the consoles, option types and their defaults, and small helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from debatelab.base import DEFAULT_CHECKPOINTS, DEFAULT_RESULTS

# Written to a pipe or a file (a log, a SLURM output), rich would wrap at 80 columns and cut table
# cells ("unscor…"); results keep whole headers and values there, as wide as they need.
PIPE_WIDTH = 400


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)


console = _console(stderr=True)  # progress, warnings, errors
out = _console()  # results

CONFIG_HELP = "configuration YAML path or built-in name (embedded/adversarial; see `debatelab configs`)"

DbOption = Annotated[Path, typer.Option(help="results database")]
ExistingDbOption = Annotated[Path, typer.Option(help="results database (must exist)")]
CheckpointsOption = Annotated[Path, typer.Option(help="checkpoint database")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
QuietOption = Annotated[bool, typer.Option(help="no progress display")]

__all__ = ["CONFIG_HELP", "DEFAULT_CHECKPOINTS", "DEFAULT_RESULTS", "CheckpointsOption", "DbOption",
           "ExistingDbOption", "JsonOption", "QuietOption", "console", "out"]
