"""The `debatelab` command line: one module per group of commands, each a thin shell over a library
call (models, debate, judge, run, results, ratings), each listing what it adds (`COMMANDS`, and
`GROUPS` of subcommands); this face registers them on the one typer app, in help order."""

from debatelab.cli import data, debate, judge, models, ratings, results, run, simulate, slurm
from debatelab.cli.app import app, main

for _group in (debate, judge, models, ratings, results, run, simulate, data, slurm):
    for _name, _command in _group.COMMANDS.items():
        app.command(_name)(_command)
    for _name, _sub in getattr(_group, "GROUPS", {}).items():
        app.add_typer(_sub, name=_name)

__all__ = ["app", "main"]
