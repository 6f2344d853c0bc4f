"""Model pools: one tag served by several hosts, with per-host slots, failover and host health
(the scheduling; `PooledChatModel` in chat_model.py makes the calls).

A lab runs the same model on several Ollama boxes. A pooled spec (`hosts: [...]`, or an
experiment's `pools:`) gets a `PooledChatModel`, which sends each call to the first host of the
pool with a free slot (a call waiting for a slot is not tied to one host: whichever live host
frees a slot first takes it, so a slow host's queue drains elsewhere). A host that fails
(connection refused or lost, timeout, 5xx, a 404 for the model, or no sign of life) is backed off
(1 s, doubling to 60 s) and the call is retried on another host; the call fails only when every
host has failed it. When a host's backoff ends it must answer a liveness probe before it gets
calls again, and a host that failed preflight starts backed off.

A host can also accept connections and never answer. Connecting is bounded (`CONNECT_TIMEOUT_S`)
and a call that has not finished after `STALL_PROBE_S` makes its host prove it is alive: a probe
of its version endpoint must answer within `PROBE_TIMEOUT_S`. A busy host answers at once, so its
long generations go on; a hung one does not, and the call moves on (or fails with that reason).

Per-host slots are one registry per event loop, shared with the runner's per-host limits, so a
host used both in a pool and directly never gets more calls at once than its limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from debatelab.agents.call_affinity import MAX_AFFINITIES, current_affinity
from debatelab.agents.host_liveness import (
    _KNOWN_DOWN,
    _WATCHED,
    BACKOFF_MAX_S,
    BACKOFF_START_S,
    PROBE_TIMEOUT_S,
    STALL_PROBE_S,
    HostNotAnswering,
    probe_url,
)
from debatelab.agents.host_slots import _REMAINING, DEFAULT_HOST_LIMIT, HostSlots, RemainingCalls, SwapAwareSlots
from debatelab.agents.model_errors import is_host_failure

T = TypeVar("T")


@dataclass
class HostState:
    url: str
    slots: HostSlots | SwapAwareSlots
    limit: int
    queued: int = 0  # calls waiting for or holding a slot
    failures: int = 0
    backoff_until: float = 0.0
    served: int = 0
    probe_first: bool = False  # backed off: the next call waits for a liveness probe to pass
    down_reason: str | None = None

    def load(self) -> float:
        return self.queued / self.limit

    def fail(self, why: str | None = None) -> None:
        """Back the host off (1 s, doubling to 60 s); it must answer a probe before its next call."""
        self.failures += 1
        self.backoff_until = time.monotonic() + min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (self.failures - 1))
        self.probe_first = True
        self.down_reason = why

    def succeeded(self) -> None:
        self.failures = 0
        self.served += 1
        self.probe_first = False
        self.down_reason = None

    def resting(self, now: float) -> bool:
        return self.backoff_until > now

    def slot(self, model: str) -> Any:
        """An async context manager holding one of the host's slots for a call to `model`."""
        return self.slots.slot(model) if isinstance(self.slots, SwapAwareSlots) else self.slots


@dataclass
class HostRegistry:
    """Per event loop: every host's slots, how many calls it allows and how many models it holds
    at once (set by the runner; None = as many as asked, e.g. the embedded endpoint)."""

    limit_for: Callable[[str], int] = field(default=lambda url: DEFAULT_HOST_LIMIT)
    max_loaded_for: Callable[[str], int | None] = field(default=lambda url: None)
    linger_s: float = 0.25
    stall_probe_s: float = STALL_PROBE_S
    probe_timeout_s: float = PROBE_TIMEOUT_S
    hosts: dict[str, HostState] = field(default_factory=dict)
    coming: dict[str, int] = field(default_factory=dict)  # model -> debates that will ask it next
    served_by: OrderedDict[str, str] = field(default_factory=OrderedDict)  # affinity key -> host URL (bounded)

    def remember(self, key: str | None, url: str) -> None:
        if key is None:
            return
        self.served_by[key] = url
        self.served_by.move_to_end(key)
        while len(self.served_by) > MAX_AFFINITIES:
            self.served_by.popitem(last=False)

    def host(self, url: str) -> HostState:
        if url not in self.hosts:
            limit = max(1, int(self.limit_for(url)))
            max_loaded = self.max_loaded_for(url)
            slots = (SwapAwareSlots(limit, max_loaded, self.linger_s, self.coming) if max_loaded is not None
                     else HostSlots(limit))
            state = self.hosts[url] = HostState(url, slots, limit)
            if url in _KNOWN_DOWN:  # preflight found it unreachable: it starts backed off
                state.fail(_KNOWN_DOWN[url])
                state.backoff_until = time.monotonic() + BACKOFF_MAX_S
        return self.hosts[url]


_REGISTRIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HostRegistry] = weakref.WeakKeyDictionary()


def host_registry() -> HostRegistry:
    return _REGISTRIES.setdefault(asyncio.get_running_loop(), HostRegistry())


def set_host_limits(limit_for: Callable[[str], int]) -> None:
    """How many calls each host takes at once, for hosts not yet used in this event loop."""
    host_registry().limit_for = limit_for


def host_slot(url: str, model: str) -> Any:
    """The async context manager that holds one of `url`'s slots for a call to `model`."""
    return host_registry().host(url).slot(model)


async def call_on_pool(urls: tuple[str, ...], call: Callable[[str], Awaitable[T]], model: str = "") -> T:
    """Run `call(url)` on the pool's first free live host, failing over until one succeeds or every
    host has failed it."""
    registry = host_registry()
    hosts = [registry.host(u) for u in urls]
    tried: set[str] = set()
    last: BaseException | None = None
    while True:
        untried = [h for h in hosts if h.url not in tried]
        if not untried:
            assert last is not None
            raise last
        live = await _live_hosts(untried)
        if not live:  # every untried host is down: try the one resting longest ago, for an honest error
            live = [min(untried, key=lambda h: (h.backoff_until, h.url))]
        key = current_affinity()
        home = registry.served_by.get(key) if key is not None else None
        if home is not None and any(h.url == home for h in live):
            live = [h for h in live if h.url == home]  # the host that served this judgment's first call
        for h in live:
            h.queued += 1
        try:
            host, slot = await _first_free_slot(live, model)
        finally:
            for h in live:
                h.queued -= 1
        host.queued += 1
        try:
            async with slot:
                result = await watch_host(host.url, call(host.url), registry.stall_probe_s)
        except Exception as exc:
            if not is_host_failure(exc):
                raise
            host.fail(type(exc).__name__)
            tried.add(host.url)
            last = exc
            continue
        finally:
            host.queued -= 1
        host.succeeded()
        registry.remember(key, host.url)
        return result


async def _live_hosts(hosts: list[HostState]) -> list[HostState]:
    """The hosts that may take a call now: not resting, and (after a failure) answering a probe."""
    now = time.monotonic()
    live = []
    for h in hosts:
        if h.resting(now):
            continue
        if h.probe_first:
            if not await host_answers(h.url):
                h.fail(h.down_reason or "no answer to a liveness probe")
                continue
            h.probe_first = False
        live.append(h)
    return live


class _Held:
    """A slot already acquired (a semaphore's), released on exit."""

    def __init__(self, semaphore: HostSlots) -> None:
        self.semaphore = semaphore

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        self.semaphore.release()


async def _first_free_slot(hosts: list[HostState], model: str) -> tuple[HostState, Any]:
    """The host whose slot frees first (the least loaded among those free now), and that slot,
    acquired. A call waiting here is not bound to one host: a slow host's queue drains elsewhere."""
    rank = {h.url: i for i, h in enumerate(hosts)}  # ties go to the host listed first in the pool

    def order(h: HostState) -> tuple[float, int]:
        return h.load(), rank[h.url]

    plain = [h for h in hosts if isinstance(h.slots, HostSlots)]
    if len(plain) < len(hosts) or len(hosts) == 1:  # a swap-aware host orders its own queue
        host = min(hosts, key=order)
        return host, host.slot(model)
    free = [h for h in plain if not h.slots.locked()]  # type: ignore[union-attr]
    if free:
        host = min(free, key=order)
        await host.slots.acquire()  # type: ignore[union-attr]
        return host, _Held(host.slots)  # type: ignore[arg-type]
    waits = {asyncio.ensure_future(h.slots.acquire()): h for h in plain}  # type: ignore[union-attr]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        await _give_back(waits)
        raise
    winner = min(done, key=lambda t: order(waits[t]))
    host = waits.pop(winner)
    await _give_back(waits)
    return host, _Held(host.slots)  # type: ignore[arg-type]


async def _give_back(waits: dict[asyncio.Future[Any], HostState]) -> None:
    """Cancel the other hosts' slot waits, releasing any slot one of them got in the meantime."""
    for task, host in waits.items():
        if not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            continue
        host.slots.release()  # type: ignore[union-attr]


async def host_answers(url: str, timeout_s: float | None = None) -> bool:
    """Whether the host answers its liveness probe in time (any HTTP status counts as an answer)."""
    timeout_s = timeout_s if timeout_s is not None else host_registry().probe_timeout_s
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=not url.startswith("http://")) as client:
            await client.get(probe_url(url))
        return True
    except (httpx.HTTPError, OSError):
        return False


async def watch_host(url: str, call: Awaitable[T], stall_probe_s: float | None = None) -> T:
    """Await `call` on `url`; whenever it has run `stall_probe_s` without finishing, probe the host,
    and give up with `HostNotAnswering` when the probe goes unanswered. A call already watched (a
    pool's member) is awaited as is."""
    if _WATCHED.get():
        return await call
    every = stall_probe_s if stall_probe_s is not None else host_registry().stall_probe_s
    token = _WATCHED.set(True)
    try:
        task = asyncio.ensure_future(call)  # the task copies the context: calls inside it are watched
    finally:
        _WATCHED.reset(token)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            if not await host_answers(url):
                raise HostNotAnswering(f"model host {url} accepted the call but does not answer (no reply to a "
                                       f"liveness probe after {every:.0f} s); it is backed off")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
# Calls a host takes at once unless told otherwise: an Ollama host serves one request per model
# at a time (OLLAMA_NUM_PARALLEL=1); the embedded endpoint starts with two slots. Every default
# (experiments, `judge --experiment`, the on-demand endpoint) reads it from here.




def expect_calls(calls: int, upcoming: list[str] | None = None) -> None:
    """Declare, for the calls made from this task on, how many the current debate still expects
    and, when known, the models they will ask in order."""
    known = list(upcoming) if upcoming else None
    remaining = RemainingCalls(max(1, len(known) if known else calls), known, host_registry().coming)
    remaining.announce()
    _REMAINING.set(remaining)
