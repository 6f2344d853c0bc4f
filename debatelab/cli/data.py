"""Released data sets: `data fetch` downloads one at its pinned version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from debatelab.base import UserError
from debatelab.cli.common import out

data_app = typer.Typer(help="Released data sets: download them at their pinned version.", no_args_is_help=True)


@data_app.command("fetch")
def fetch_cmd(
    dataset: Annotated[str, typer.Argument(help="michael2023 (the NYU debates, ~40 MB download)")],
    to: Annotated[Path, typer.Option("--to", help="folder to keep the release's pub/ folder in")] = Path(
        "data/michael2023"),
) -> None:
    """Download the NYU debates (julianmichael/debate at the pinned commit, CC-BY 4.0), check the
    metadata's sha256, and keep the pub/ folder; then `debatelab import michael2023 DIR/pub`."""
    import os

    from debatelab.scenarios import MICHAEL2023_RELEASE_URL, fetch_release

    if dataset != "michael2023":
        raise UserError(f"unknown dataset {dataset!r}; one of: michael2023")
    pub = fetch_release(to, os.environ.get("DEBATELAB_MICHAEL2023_URL") or MICHAEL2023_RELEASE_URL)
    out.print(f"kept {pub} (sha256 checked); next: debatelab import michael2023 {pub} --db results.db",
              highlight=False)


COMMANDS: dict[str, object] = {}
GROUPS = {"data": data_app}
