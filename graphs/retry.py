"""Which model-call failures a node retries.

LangGraph's default retry also retries Ollama's 404 (model not found), which only wastes time.
Here: timeouts, dropped connections and 5xx are retried a few times with backoff; a missing
model or a bad request is not (`debatelab.agents.is_transient` decides, for every client).
"""

from __future__ import annotations

from langgraph.types import RetryPolicy

from debatelab.agents import is_transient


def model_retry_policy(max_attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, initial_interval=0.5, backoff_factor=2.0,
                       max_interval=8.0, retry_on=is_transient)
