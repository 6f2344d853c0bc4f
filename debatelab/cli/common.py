"""What the commands share: the consoles, option types and their defaults, and small helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from debatelab.base import DEFAULT_CHECKPOINTS, DEFAULT_RESULTS

console = Console(stderr=True)  # progress, warnings, errors
out = Console()  # results

CONFIG_HELP = "configuration YAML path or built-in name (embedded/adversarial; see `debatelab configs`)"

DbOption = Annotated[Path, typer.Option(help="results database")]
ExistingDbOption = Annotated[Path, typer.Option(help="results database (must exist)")]
CheckpointsOption = Annotated[Path, typer.Option(help="checkpoint database")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
QuietOption = Annotated[bool, typer.Option(help="no progress display")]

__all__ = ["CONFIG_HELP", "DEFAULT_CHECKPOINTS", "DEFAULT_RESULTS", "CheckpointsOption", "DbOption",
           "ExistingDbOption", "JsonOption", "QuietOption", "console", "out"]
