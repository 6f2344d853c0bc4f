"""debatelab: ensemble debates among local LLMs, judged with versioned rubrics.

The parts: `debatelab.agents` (who speaks), `debatelab.graphs` (how they are wired),
`debatelab.rubric` (how it is scored), `debatelab.scenarios` (what is debated), and the lab
(runner, store, statistics, reports, CLI) in the remaining modules.
"""

from importlib.metadata import PackageNotFoundError, version

from debatelab.base import ModelUnavailableError, UserError

try:
    __version__ = version("debatelab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["ModelUnavailableError", "UserError", "__version__"]
