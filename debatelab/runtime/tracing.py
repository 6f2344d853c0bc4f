"""Tracing: debates and judgments name their runs (run_name, tags, metadata) for LangSmith or any
tracer; this module only keeps a half-configured LangSmith from flooding the terminal.

With `LANGSMITH_TRACING=true` but no API key, LangSmith's client warns, then logs a connection
error for every batch of runs it fails to send. A run then goes ahead untraced, with one line
saying why, which is what a researcher who forgot the key needs to read.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext

_TRACING_FLAGS = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")
_KEYS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
_warned = False


def tracing_requested() -> bool:
    return any(os.environ.get(flag, "").strip().lower() in ("1", "true", "yes") for flag in _TRACING_FLAGS)


def tracing_guard() -> AbstractContextManager:
    """A context in which graph runs trace only if tracing can work (a key is set)."""
    global _warned
    if not tracing_requested() or any(os.environ.get(k) for k in _KEYS):
        return nullcontext()
    if not _warned:
        _warned = True
        print("debatelab: LANGSMITH_TRACING is on but LANGSMITH_API_KEY is not set; running without tracing",
              file=sys.stderr, flush=True)
    from langsmith.run_helpers import tracing_context

    return tracing_context(enabled=False)
