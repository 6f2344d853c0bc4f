"""Call affinity: which judgment (or debate) a model call belongs to, carried in a ContextVar and
sent as headers (`X-Debatelab-Affinity`, `-Last`, `-More`) by httpx hooks, so a server with several
slots keeps one judgment's calls on the slot whose prompt cache already holds its transcript.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

import httpx

AFFINITY_HEADER = "X-Debatelab-Affinity"
_AFFINITY: ContextVar[str | None] = ContextVar("debatelab_affinity", default=None)
MAX_AFFINITIES = 4096


@contextlib.contextmanager
def affinity(key: str) -> Iterator[None]:
    """Calls made inside the block belong together (a judgment's criteria share its transcript): a
    pool sends them to the host that served the first one, and the request carries the key in the
    `X-Debatelab-Affinity` header, so a server with prompt-cache slots (the embedded endpoint) can
    keep them on one slot. Servers that do not know the header ignore it."""
    token = _AFFINITY.set(key)
    try:
        yield
    finally:
        _AFFINITY.reset(token)


def current_affinity() -> str | None:
    return _AFFINITY.get()


AFFINITY_LAST_HEADER = "X-Debatelab-Affinity-Last"
_LAST: ContextVar[bool] = ContextVar("debatelab_affinity_last", default=False)


@contextlib.contextmanager
def last_call_of_affinity() -> Iterator[None]:
    """The calls made inside the block are the last of the current affinity key (a judgment's last
    criterion): they carry `X-Debatelab-Affinity-Last: 1`, so the embedded endpoint frees the slot
    for the next judgment as soon as they are answered instead of keeping it for the key."""
    token = _LAST.set(True)
    try:
        yield
    finally:
        _LAST.reset(token)


_MORE: ContextVar[bool] = ContextVar("debatelab_affinity_more", default=False)


@contextlib.contextmanager
def more_calls_of_affinity() -> Iterator[None]:
    """The current affinity key makes its next call right after those made inside the block (a
    judgment's criteria before its last): when one of them is answered, its host's call slot is
    kept for that next call for a moment (`HostSlots`) instead of going to a call that waited."""
    token = _MORE.set(True)
    try:
        yield
    finally:
        _MORE.reset(token)


def _add_affinity_header(request: httpx.Request) -> None:
    key = _AFFINITY.get()
    if key is not None:
        request.headers[AFFINITY_HEADER] = key.encode("ascii", "replace").decode("ascii")[:200]
        if _LAST.get():
            request.headers[AFFINITY_LAST_HEADER] = "1"


async def _add_affinity_header_async(request: httpx.Request) -> None:
    _add_affinity_header(request)


def affinity_hooks() -> tuple[dict[str, list], dict[str, list]]:
    """httpx event hooks (sync client's, async client's) that send the current affinity key."""
    return {"request": [_add_affinity_header]}, {"request": [_add_affinity_header_async]}


