"""debatelab: ensemble debates among local LLMs, judged with versioned rubrics."""

from debatelab.errors import ModelUnavailableError, UserError

__all__ = ["ModelUnavailableError", "UserError"]
__version__ = "0.1.0"
