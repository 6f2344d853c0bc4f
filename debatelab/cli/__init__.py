"""The `debatelab` command line: one module per group of commands, each a thin shell over a library
call (models, debate, judge, run, results, ratings), registered on one typer app."""

from debatelab.cli import debate, judge, models, ratings, results, run  # noqa: F401  (registers the commands)
from debatelab.cli.app import app, main

__all__ = ["app", "main"]
