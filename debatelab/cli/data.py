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
    dataset: Annotated[str, typer.Argument(help="michael2023 (the NYU debates, ~40 MB download) or quality "
                                                "(QuALITY v1.0.1, ~60 MB)")],
    to: Annotated[Path | None, typer.Option("--to", help="folder to keep the data in (default data/DATASET)")] = None,
) -> None:
    """Download a released data set. michael2023: the NYU debates (julianmichael/debate at the pinned
    commit, CC-BY 4.0), metadata sha256 checked, its pub/ folder kept; then `debatelab import
    michael2023 DIR/pub`. quality: QuALITY v1.0.1's official zip, unzipped, with its sha256,
    licence and citation in PROVENANCE.json; then `questions: {set: quality, path: DIR}`."""
    import os

    from debatelab.scenarios import MICHAEL2023_RELEASE_URL, QUALITY_RELEASE_URL, fetch_quality, fetch_release

    if dataset not in ("michael2023", "quality"):
        raise UserError(f"unknown dataset {dataset!r}; one of: michael2023, quality")
    to = to or Path("data") / dataset
    if dataset == "quality":
        folder = fetch_quality(to, os.environ.get("DEBATELAB_QUALITY_URL") or QUALITY_RELEASE_URL)
        out.print(f"kept {folder} (sha256 in {folder / 'PROVENANCE.json'}); next: questions: {{set: quality, path: "
                  f"{folder}, split: dev}}", highlight=False, markup=False)
        return
    pub = fetch_release(to, os.environ.get("DEBATELAB_MICHAEL2023_URL") or MICHAEL2023_RELEASE_URL)
    out.print(f"kept {pub} (sha256 checked); next: debatelab import michael2023 {pub} --db results.db",
              highlight=False)


COMMANDS: dict[str, object] = {}
GROUPS = {"data": data_app}
