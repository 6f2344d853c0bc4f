"""Compiled graphs, reused: one idiom for every graph debatelab compiles many times.

Compiling a graph takes tens of milliseconds, and an experiment runs the same few graphs on many
threads of one checkpointer. A compiled graph holds its checkpointer, so a module-level cache
would keep a closed saver (and its SQLite connection) alive. Instead the graphs compiled for a
checkpointer are kept *on* that checkpointer: they live exactly as long as it does, and closing
it through `forget_compiled` drops them at once. Graphs without a checkpointer (LangGraph Server
supplies its own) are kept in a small bounded cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from langgraph.graph import StateGraph

_ATTRIBUTE = "_debatelab_compiled_graphs"
_WITHOUT_CHECKPOINTER: OrderedDict[str, Any] = OrderedDict()
MAX_WITHOUT_CHECKPOINTER = 32


def compiled(key: str, build: Callable[[], StateGraph], checkpointer: Any = None, *, name: str) -> Any:
    """The graph `build()` compiled with `checkpointer` under `name`, compiled once per key."""
    cache = _cache_of(checkpointer)
    graph = cache.get(key)
    if graph is None:
        graph = build().compile(checkpointer=checkpointer, name=name)
        cache[key] = graph
        if cache is _WITHOUT_CHECKPOINTER:
            while len(cache) > MAX_WITHOUT_CHECKPOINTER:
                cache.popitem(last=False)
    return graph


def forget_compiled(checkpointer: Any) -> None:
    """Drop the graphs compiled for a checkpointer (call it when the checkpointer is closed)."""
    if checkpointer is not None and hasattr(checkpointer, _ATTRIBUTE):
        delattr(checkpointer, _ATTRIBUTE)


def _cache_of(checkpointer: Any) -> dict[str, Any]:
    if checkpointer is None:
        return _WITHOUT_CHECKPOINTER
    cache = getattr(checkpointer, _ATTRIBUTE, None)
    if cache is None:
        cache = {}
        try:
            setattr(checkpointer, _ATTRIBUTE, cache)
        except AttributeError:  # a saver with __slots__: compile every time rather than leak
            return {}
        on_close = getattr(checkpointer, "on_close", None)  # debatelab's savers say when they close
        if callable(on_close):
            on_close(lambda: forget_compiled(checkpointer))
    return cache
