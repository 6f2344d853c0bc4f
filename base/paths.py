"""Where results and checkpoints go when no path is given: one definition, read by the store and
the CLI's option defaults (the CLI imports this without loading the store's dependencies)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_RESULTS = Path("results.db")
DEFAULT_CHECKPOINTS = Path("checkpoints/debates.sqlite")
