"""Downloading a released data set: one streamed GET (or a local file: a mirror, a test) to a path,
and its failure as one line naming the URL and what to do instead."""

from __future__ import annotations

import shutil
from pathlib import Path

from debatelab.base import UserError

FETCH_TIMEOUT_S = 600.0


def download(url: str, target: Path, instead: str) -> None:
    """`url` (or a local path / file:// URL) to `target`; `instead` tells the user what to do by hand."""
    import httpx

    local = Path(url.removeprefix("file://"))
    if local.is_file():
        shutil.copyfile(local, target)
        return
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=FETCH_TIMEOUT_S) as reply:
            if reply.status_code != 200:
                raise UserError(f"{url}: HTTP {reply.status_code}; try again later, or {instead}")
            with target.open("wb") as fh:
                for chunk in reply.iter_bytes():
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        raise UserError(f"cannot download {url} ({type(exc).__name__}); check the network, or {instead}") from None
