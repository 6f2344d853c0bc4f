"""Per-host call limits for a run: how many calls each host takes at once, shared by every debate,
judgment, pair, audit item and question of the run (the Ollama queue is per host)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from debatelab.agents import EMBEDDED, ModelSpec, host_registry, resolve_host, resolve_url, single_host

LimitFor = Callable[[str, bool], int]  # (host URL, is the embedded endpoint) -> calls at once
MaxLoadedFor = Callable[[str, bool], int | None]  # (host URL, is embedded) -> models held at once, None = any
LimiterFor = Callable[[ModelSpec], Any]  # a spec -> the async context manager its calls hold


def host_limiters(limit_for: LimitFor, max_loaded_for: MaxLoadedFor | None = None) -> LimiterFor:
    """Per resolved host URL, the call slot a spec's calls hold, from the event loop's host registry,
    which pools share: a pooled spec gets None, its pool taking each host's slot. `max_loaded_for`
    makes a host swap-aware (see `SwapAwareSlots`)."""
    embedded_urls: set[str] = set()

    def limit(url: str) -> int:
        return limit_for(url, url in embedded_urls)

    def max_loaded(url: str) -> int | None:
        return max_loaded_for(url, url in embedded_urls) if max_loaded_for else None

    def get(spec: ModelSpec) -> Any:
        registry = host_registry()
        registry.limit_for, registry.max_loaded_for = limit, max_loaded
        spec = single_host(spec)
        if spec.pool:
            embedded_urls.update(resolve_url(h, spec) for h in spec.pool if h == EMBEDDED)
            return None
        url = resolve_host(spec)
        if spec.host == EMBEDDED:
            embedded_urls.add(url)
        return registry.host(url).slot(spec.model)

    return get
