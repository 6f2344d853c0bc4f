"""The `debatelab` command line: one module per group of commands, each a thin shell over a library
call (models, debate, judge, run, results, ratings), each adding its commands to the one typer app
through its `register(app)`: the list below is every command group, in help order."""

from debatelab.cli import debate, judge, models, ratings, results, run
from debatelab.cli.app import app, main

for _group in (debate, judge, models, ratings, results, run):
    _group.register(app)

__all__ = ["app", "main"]
