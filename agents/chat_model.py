"""The one factory that turns a `ModelSpec` into a configured `ChatOllama`.

Every model call in the product goes through ChatOllama, whether the host is a user's Ollama
or the embedded endpoint, so the code path tested here is the one users run.
"""

from __future__ import annotations

from typing import Any

from langchain_ollama import ChatOllama

from agents.embedded.launcher import resolve_embedded_host
from agents.model_spec import EMBEDDED, ModelSpec, default_ollama_host


def resolve_host(spec: ModelSpec) -> str:
    """The base URL a spec's calls go to (the word `embedded` starts or finds the endpoint)."""
    if spec.host == EMBEDDED:
        return resolve_embedded_host()
    return spec.host or default_ollama_host()


def make_chat_model(spec: ModelSpec, **overrides: Any) -> ChatOllama:
    """Build a ChatOllama for `spec`.

    The timeout goes through `client_kwargs` (ChatOllama has no timeout field and otherwise
    waits forever) and `num_ctx` is always explicit (Ollama's default silently truncates).
    """
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "base_url": resolve_host(spec),
        "num_ctx": spec.num_ctx,
        "client_kwargs": {"timeout": spec.timeout},
        "validate_model_on_init": False,
    }
    for name in ("temperature", "seed", "num_predict", "top_p", "stop", "repeat_penalty", "reasoning", "keep_alive"):
        value = getattr(spec, name)
        if value is not None:
            kwargs[name] = value
    kwargs.update(overrides)
    return ChatOllama(**kwargs)
