"""Host liveness: which hosts preflight found down, the liveness probe, and the watch that makes a
host that accepts a call and never answers prove it is alive (`STALL_PROBE_S`, `PROBE_TIMEOUT_S`).

A busy host answers its version endpoint at once, so its long generations go on; a hung one does
not, and the call moves on to another host of its pool (or fails with that reason).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
CONNECT_TIMEOUT_S = 10.0  # a host that does not accept a connection in this time is down
STALL_PROBE_S = 30.0  # a call not finished after this long makes its host answer a liveness probe
PROBE_TIMEOUT_S = 3.0  # a liveness probe unanswered in this time: the host is not answering


class HostNotAnswering(ConnectionError):
    """A host accepted the call but shows no sign of life: it does not answer a liveness probe."""


_KNOWN_DOWN: dict[str, str] = {}  # host URL -> why preflight found it unusable


def mark_host_down(url: str, why: str) -> None:
    """Preflight found `url` unreachable: wherever it is used in this process, it starts backed off
    and gets calls only after answering a probe."""
    _KNOWN_DOWN[url] = why


def probe_url(url: str) -> str:
    """The cheap endpoint that shows a host is alive: Ollama's /api/version, or an OpenAI-compatible
    server's /models under its /v1 base."""
    return f"{url}/models" if url.rstrip("/").endswith("/v1") else f"{url}/api/version"


_WATCHED: ContextVar[bool] = ContextVar("debatelab_host_watched", default=False)
