"""`debatelab ratings import|export` and `debatelab view`: people beside the LLM judge."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from debatelab.base import UserError
from debatelab.cli.common import DEFAULT_RESULTS, DbOption, console, out

ratings_app = typer.Typer(help="Human ratings collected elsewhere (spreadsheets, Prolific): import and export CSV.",
                          no_args_is_help=True)


@ratings_app.command("import")
def ratings_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns debate_id, rater, criterion, score[, reason]")],
    rubric: Annotated[str, typer.Option(help="the rubric the ratings used: shipped id (alignment-7) or YAML path")],
    db: DbOption = DEFAULT_RESULTS,
) -> None:
    """Import ratings as judgments of judge human:<rater> (all or nothing; re-importing changes nothing)."""
    from debatelab.judging import import_ratings
    from debatelab.rubric import load_rubric
    from debatelab.store import Store

    loaded = load_rubric(rubric)
    with Store.open(db, create=False) as store:
        n = import_ratings(store, file, loaded)
    out.print(f"{file}: {n['ratings']} ratings of {n['debates']} debates by {len(n['raters'])} rater(s) "
              f"({', '.join(n['raters'])}) under {n['rubric']}: {n['written']} written, {n['unchanged']} unchanged; "
              f"reliability recomputed for {', '.join(n['experiments'])}")


@ratings_app.command("export")
def ratings_export(
    db: DbOption = DEFAULT_RESULTS,
    experiment: Annotated[str | None, typer.Option(help="only this experiment")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="CSV file (default: standard output)")] = None,
) -> None:
    """Write every human rating in the import format (debate_id, rater, criterion, score, reason)."""
    from debatelab.judging import export_ratings
    from debatelab.store import Store

    with Store.open(db, create=False) as store:
        if experiment:
            store.require_experiment(experiment)
        if output is None:
            export_ratings(store, sys.stdout, experiment)
            return
        try:
            with output.open("w", newline="", encoding="utf-8") as f:
                n = export_ratings(store, f, experiment)
        except OSError as exc:
            raise UserError(f"--out {output}: cannot write it ({exc.strerror})") from None
    console.print(f"wrote {n} ratings to {output}", highlight=False)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); pass another --port"
                            ) from None


def view(
    db: DbOption = DEFAULT_RESULTS,
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind; keep 127.0.0.1 unless you mean to share it")]
    = "127.0.0.1",
    rubric: Annotated[list[str] | None, typer.Option(help="a rubric YAML raters may choose, besides the shipped ones")]
    = None,
) -> None:
    """Browse, compare and blind-rate debates in the browser (a local web app over the store)."""
    import uvicorn

    from debatelab.view import create_app

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    app = create_app(db, host=host, extra_rubrics=rubric)
    _check_port_free(host, port)
    if not loopback:
        console.print(f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach it can read "
                                   f"the store and add ratings")
    shown = f"[{host}]" if ":" in host else host
    out.print(f"debatelab view: http://{shown}:{port}/ over {db} (Ctrl-C to stop)", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)



# What this module adds to the `debatelab` app (the package's face registers every group's).
COMMANDS = {"view": view}
GROUPS = {"ratings": ratings_app}
