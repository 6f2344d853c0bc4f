"""The `debatelab` command line (typer): the app, its global options and the entry point.

Each command lives in a module of this package by what it works on (models, debates, judging,
runs, results, ratings) and is a thin shell over a library call. A user's mistake raises
`UserError`; `main()` prints its message on stderr and exits non-zero, so nobody sees a traceback
for a bad file, a dead server or a usage mistake.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from debatelab.base import ExitCode, UserError, describe_validation_error, redact
from debatelab.cli.common import console

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    help="Ensemble debates among local LLMs on AI-alignment scenarios, judged with versioned rubrics.",
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from debatelab import __version__

        print(f"debatelab {__version__}")
        raise typer.Exit()


@app.callback()
def _common(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Ensemble debates among local LLMs on AI-alignment scenarios, judged with versioned rubrics."""


def _usage_error_line(exc: BaseException) -> str | None:
    """One line for a command-line usage mistake, or None if `exc` is not one.

    typer 0.29 raises its own copies of click's exception classes (not subclasses of click's),
    so they are recognised by shape: a `format_message()` and an `exit_code`, as both define.
    """
    if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
        return None
    message = " ".join(str(exc.format_message()).split())
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "debatelab"
    return f"{message} (see '{command} --help')"


def _error(line: str) -> None:
    console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)


def _system_error(exc: OSError) -> None:
    where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
    with contextlib.suppress(OSError):  # stdout itself may be what failed: nothing more goes there
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    _error(redact(f"{exc.strerror or type(exc).__name__}{where} ({type(exc).__name__}); free space, fix the "
                  f"permissions or write elsewhere, then run the same command again"))
    sys.exit(ExitCode.SYSTEM)


def main() -> None:
    """Entry point: run the app, turning UserError into one line on stderr and an exit code."""
    try:
        # Without standalone mode, click returns a command's `typer.Exit(code)` instead of raising
        # it: a run with failed items must still exit non-zero.
        code = app(standalone_mode=False)
    except UserError as exc:
        for line in str(exc).splitlines():
            _error(line)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted; re-run the same command to resume")
        sys.exit(ExitCode.INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except OSError as exc:  # a full disk, a closed pipe, a folder it may not write: one line, not a traceback
        _system_error(exc)
    except Exception as exc:
        # imported here: loading the model layer costs a second at every start, and most commands never need it
        from debatelab.agents import describe_model_error

        model_error = describe_model_error(exc)
        if model_error is not None:
            _error(UserError(model_error).args[0])
            sys.exit(ExitCode.MODEL_UNAVAILABLE)
        if isinstance(exc, ValidationError):  # a value given on the command line (a model spec, say)
            _error(redact(describe_validation_error("command line", exc)))
            sys.exit(ExitCode.USAGE)
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]  # `debatelab` or a group alone: its help
            sys.exit(ExitCode.USAGE)
        line = _usage_error_line(exc)
        if line is None:
            raise
        _error(line)
        sys.exit(ExitCode.USAGE if exc.exit_code in (1, 2) else exc.exit_code)  # type: ignore[attr-defined]
    if isinstance(code, int) and code != ExitCode.OK:
        sys.exit(code)
