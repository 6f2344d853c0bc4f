"""Results as DataFrames: `debatelab.results.open("results.db")` returns a read-only `Results`
whose methods give every stored table and the report's own tables as pandas DataFrames, and
`export_dataset` writes an experiment as parquet tables with a data-set card."""

from debatelab.results.dataset import export_dataset
from debatelab.results.reader import Results, open_results

open = open_results  # noqa: A001  (the public name: `debatelab.results.open(path)`)

__all__ = ["export_dataset", "Results", "open", "open_results"]
