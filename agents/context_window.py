"""How many tokens a model's server lets one request hold, and an estimate of a text's tokens.

A prompt longer than the context is not refused by the servers debatelab talks to: Ollama and
llama.cpp drop the start of the prompt (the passage, in oversight) and answer anyway. So the
oversight runner checks each question's largest prompt before any call. Where the context comes
from: Ollama honours the `num_ctx` debatelab sends with every call (the spec's option); the
embedded endpoint serves its slot, which it states in `/api/show`; an OpenAI-compatible server
states `max_model_len` in `/v1/models` where it does (vLLM), else the context is unknown and not
checked.
"""

from __future__ import annotations

import math
import os
import re
from functools import lru_cache

import httpx

from debatelab.agents.model_spec import ModelSpec

CHARS_PER_TOKEN = 4.0  # English prose under the BPE vocabularies of small open models (SmolLM2: ~4.2)
TOKENS_PER_WORD = 1.35


def estimate_tokens(text: str) -> int:
    """A slightly high estimate (the larger of a characters and a words rule), so a prompt that
    passes the check fits the context."""
    return math.ceil(max(len(text) / CHARS_PER_TOKEN, len(text.split()) * TOKENS_PER_WORD))


@lru_cache(maxsize=64)
def _stated(url: str, model: str, provider: str, key_env: str | None = None) -> int | None:
    """What the server says: the embedded endpoint's slot (`/api/show` parameters `num_ctx`), an
    OpenAI-compatible server's `max_model_len` (vLLM); None when it says nothing."""
    try:
        if provider == "openai":
            key = os.environ.get(key_env, "") if key_env else ""  # the server the key is meant for, as every call
            reply = httpx.get(f"{url.rstrip('/')}/models", timeout=5.0,
                              headers={"Authorization": f"Bearer {key}"} if key else None)
            for entry in reply.json().get("data", []):
                if entry.get("id") == model and isinstance(entry.get("max_model_len"), int):
                    return int(entry["max_model_len"])
            return None
        reply = httpx.post(f"{url.rstrip('/')}/api/show", json={"model": model}, timeout=5.0)
        body = reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    found = re.search(r"(?m)^\s*num_ctx\s+(\d+)", str(body.get("parameters") or ""))
    return int(found.group(1)) if found else None


def context_tokens(spec: ModelSpec, url: str, *, embedded: bool) -> tuple[int | None, str]:
    """The context of `spec` served at `url`, and how to raise it. The embedded endpoint serves its
    slot whatever `num_ctx` says; Ollama honours the `num_ctx` debatelab always sends; an
    OpenAI-compatible server is asked."""
    if embedded:
        return _stated(url, spec.model, "ollama"), "serve-embedded --ctx"
    if spec.provider == "openai":
        return _stated(url, spec.model, "openai", spec.api_key_env), "the server's --max-model-len"
    return spec.num_ctx, "the model's num_ctx option"
