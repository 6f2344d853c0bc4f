"""Model pools: one tag served by several hosts, with per-host slots and failover (the scheduling;
`PooledChatModel` in chat_model.py makes the calls).

A lab runs the same model on several Ollama boxes. A pooled spec (`hosts: [...]`, or an
experiment's `pools:`) gets a `PooledChatModel`, which sends each call to the host with a free
slot and the least queued work. A host that fails (connection refused or lost, timeout, 5xx, or a
404 for the model) is backed off for a while (1 s, doubling to 60 s), and the call is retried on
another host of the pool; the call fails only when every host has failed it.

Per-host slots are one registry per event loop, shared with the runner's per-host limits, so a
host used both in a pool and directly never gets more calls at once than its limit.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from debatelab.agents.model_errors import is_host_failure

T = TypeVar("T")
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
# Calls a host takes at once unless told otherwise: an Ollama host serves one request per model
# at a time (OLLAMA_NUM_PARALLEL=1); the embedded endpoint starts with two slots. Every default
# (experiments, `judge --experiment`, the on-demand endpoint) reads it from here.
DEFAULT_CONCURRENCY: dict[str, int] = {"default": 1, "embedded": 2}
DEFAULT_HOST_LIMIT = DEFAULT_CONCURRENCY["default"]
EMBEDDED_SLOTS = DEFAULT_CONCURRENCY["embedded"]


def concurrency_for(table: Mapping[str, int], url: str, embedded: bool) -> int:
    """Calls `url` takes at once: its own entry in `table`, else 'embedded' or 'default', else the
    defaults above."""
    if url in table:
        return table[url]
    key = "embedded" if embedded else "default"
    return table.get(key, DEFAULT_CONCURRENCY[key])


@dataclass
class RemainingCalls:
    """How many calls a debate still expects to make: its weight when a host chooses which model to
    load next (the runner sets one per debate; nodes inherit it through the task's context).

    `upcoming`, when the runner knows it (its dry run), lists the models of the debate's calls still
    to come, in order. Between two calls the debate is then counted in `coming` under the model it
    will ask next, so a host lingers on an idle model, or waits for its plan's next model, only
    while such a call is known to be on its way (or a caller of unknown sequence may still ask)."""

    calls: int
    upcoming: list[str] | None = None
    coming: dict[str, int] | None = None  # the event loop's counts of calls on their way, by model
    on_its_way: str | None = None  # the model this debate is counted under in `coming`
    retrying: bool = False  # its last call failed: the next one asks the same model again

    def announce(self) -> None:
        """Count this debate under the model it asks next (at its start, and after each call)."""
        following = self.upcoming[0] if self.upcoming else None
        if following is not None and self.coming is not None:
            self.coming[following] = self.coming.get(following, 0) + 1
            self.on_its_way = following

    def arriving(self, model: str) -> None:
        """A call for `model` is being queued: no longer on its way; advance the sequence past it."""
        if self.on_its_way is not None and self.coming is not None:
            self.coming[self.on_its_way] = max(0, self.coming.get(self.on_its_way, 0) - 1)
        self.on_its_way = None
        if self.retrying:
            self.retrying = False
            return
        if self.upcoming is None:
            return
        if model in self.upcoming:
            del self.upcoming[: self.upcoming.index(model) + 1]
        else:
            self.upcoming = None  # the sequence no longer matches (a resumed debate): unknown from here


_REMAINING: ContextVar[RemainingCalls | None] = ContextVar("debatelab_remaining_calls", default=None)


def expect_calls(calls: int, upcoming: list[str] | None = None) -> None:
    """Declare, for the calls made from this task on, how many the current debate still expects
    and, when known, the models they will ask in order."""
    known = list(upcoming) if upcoming else None
    remaining = RemainingCalls(max(1, len(known) if known else calls), known, host_registry().coming)
    remaining.announce()
    _REMAINING.set(remaining)


class SwapAwareSlots:
    """The call slots of a host that holds at most `max_loaded` models at once (an Ollama box).

    Loading a model costs seconds to minutes, so the order of calls matters more than their
    number: calls for a loaded model go first, and a model is swapped in only when no loaded
    model has calls waiting and a loaded one is idle. Before swapping, the host lingers briefly: a
    debate whose call just finished usually asks the same model again a few milliseconds later.
    The model loaded next is the one whose waiting calls carry the most remaining work (each call
    weighs as many calls as its debate still expects): the "majority merge" heuristic for the
    shortest common supersequence of the debates' model sequences, weighted so that long
    debates are not left behind (on the study's workload: 14 loads against a bound of 13, where
    counting waiting calls alone gives 17). With many debates in flight, debates at the same
    stage advance together, one load serving all of them. The content of every debate is
    unchanged; only the order in which hosts serve calls is."""

    def __init__(self, limit: int, max_loaded: int, linger_s: float = 0.25, coming: dict[str, int] | None = None) -> None:
        self.limit, self.max_loaded, self.linger_s = limit, max_loaded, linger_s
        self.loaded: dict[str, float] = {}  # model -> when it last served (eviction: least recent)
        self.running: dict[str, int] = {}
        self.waiting: dict[str, list[tuple[asyncio.Future[None], int]]] = {}
        self.busy = 0
        self.loads = 0
        self.plan: list[str] = []  # the order to load models in, when the runner computed one
        self.step = 0
        self.last_arrival = 0.0
        self.coming: dict[str, int] = coming if coming is not None else {}  # model -> calls known on their way
        self.unknown_release: dict[str, float] = {}  # model -> last release by a caller of unknown sequence
        self.last_unknown_release = float("-inf")  # by a caller whose next model is not known
        self._timer: asyncio.TimerHandle | None = None

    def follow(self, plan: list[str]) -> None:
        """Load models in this order (see debatelab.experiments.swap_plan), as far as the calls match it."""
        self.plan, self.step = list(plan), 0

    def slot(self, model: str) -> _ModelSlot:
        return _ModelSlot(self, model)

    async def acquire(self, model: str) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        remaining = _REMAINING.get()
        entry = (future, remaining.calls if remaining else 1)
        if remaining is not None:
            remaining.calls = max(1, remaining.calls - 1)
            remaining.arriving(model)
        self.last_arrival = time.monotonic()
        self.waiting.setdefault(model, []).append(entry)
        self._dispatch()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(model)  # granted just as it was cancelled: give the slot back
            elif entry in self.waiting.get(model, []):
                self.waiting[model].remove(entry)
            raise

    def release(self, model: str, failed: bool = False) -> None:
        self.running[model] -= 1
        self.busy -= 1
        now = self.loaded[model] = time.monotonic()
        remaining = _REMAINING.get()
        if remaining is None or remaining.upcoming is None:
            self.unknown_release[model] = self.last_unknown_release = now  # it may ask this model again
        elif failed:
            remaining.retrying = True  # a retry asks this model again, unannounced: linger as for unknown
            self.unknown_release[model] = self.last_unknown_release = now
        else:
            remaining.announce()
        self._dispatch()

    def _grant(self, model: str) -> None:
        future, _weight = self.waiting[model].pop(0)
        self.running[model] = self.running.get(model, 0) + 1
        self.busy += 1
        self.loaded[model] = time.monotonic()
        future.set_result(None)

    def _dispatch(self) -> None:
        while self.busy < self.limit:
            wanted = {m: sum(w for _, w in q) for m, q in self.waiting.items() if q}
            if not wanted:
                return
            ready = [m for m in wanted if m in self.loaded]
            if ready:
                self._grant(max(ready, key=lambda m: (wanted[m], m)))
                continue
            idle = [m for m in self.loaded if not self.running.get(m)]
            if len(self.loaded) >= self.max_loaded and not idle:
                return  # every loaded model is still answering: wait for it
            if len(self.loaded) >= self.max_loaded:
                last = max(self._may_return_since(m) for m in idle)
                if self._later(last + self.linger_s):  # a debate may ask the idle model again in a moment
                    return
            choice = self._planned(wanted)
            if choice is None:
                return
            if len(self.loaded) >= self.max_loaded:
                del self.loaded[min(idle, key=lambda m: self.loaded[m])]
            self.loads += 1
            self.loaded[choice] = time.monotonic()
            self._grant(choice)

    def _planned(self, wanted: dict[str, int]) -> str | None:
        """The model to load next: the plan's, once the calls for it are there; else the heaviest."""
        if self.step < len(self.plan):
            if self.plan[self.step] in wanted:
                self.step += 1
                return self.plan[self.step - 1]
            if self._plan_call_may_come() and self._later(self.last_arrival + self.linger_s):
                return None  # calls are still arriving: wait for the plan's
            ahead = next((j for j in range(self.step, len(self.plan)) if self.plan[j] in wanted), None)
            if ahead is not None:
                self.step = ahead + 1
                return self.plan[ahead]
        return max(wanted, key=lambda m: (wanted[m], m))

    def _may_return_since(self, model: str) -> float:
        """Since when a call for idle `model` may be on its way: its last call, if a debate is known
        to ask it next; the last release by a caller of unknown sequence; else never."""
        if self.coming.get(model):
            return self.loaded[model]
        return self.unknown_release.get(model, float("-inf"))

    def _plan_call_may_come(self) -> bool:
        """Whether a call for the plan's next model may still arrive soon: one is known to be on its
        way, or a caller whose sequence is unknown released a call lately."""
        if self.coming.get(self.plan[self.step]):
            return True
        return time.monotonic() - self.last_unknown_release < self.linger_s

    def _later(self, when: float) -> bool:
        """True (and a wake-up scheduled) when `when` is still to come."""
        wait = when - time.monotonic()
        if wait <= 0:
            return False
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._wake)
        return True

    def _wake(self) -> None:
        self._timer = None
        self._dispatch()


class _ModelSlot:
    def __init__(self, slots: SwapAwareSlots, model: str) -> None:
        self.slots, self.model = slots, model

    async def __aenter__(self) -> None:
        await self.slots.acquire(self.model)

    async def __aexit__(self, exc_type: object, *rest: object) -> None:
        self.slots.release(self.model, failed=exc_type is not None)


@dataclass
class HostState:
    url: str
    slots: asyncio.Semaphore | SwapAwareSlots
    limit: int
    queued: int = 0  # calls waiting for or holding a slot
    failures: int = 0
    backoff_until: float = 0.0
    served: int = 0

    def load(self) -> float:
        return self.queued / self.limit

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
    hosts: dict[str, HostState] = field(default_factory=dict)
    coming: dict[str, int] = field(default_factory=dict)  # model -> debates that will ask it next

    def host(self, url: str) -> HostState:
        if url not in self.hosts:
            limit = max(1, int(self.limit_for(url)))
            max_loaded = self.max_loaded_for(url)
            slots = (SwapAwareSlots(limit, max_loaded, self.linger_s, self.coming) if max_loaded is not None
                     else asyncio.Semaphore(limit))
            self.hosts[url] = HostState(url, slots, limit)
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
    """Run `call(url)` on the best host of the pool, failing over until one succeeds or all failed."""
    registry = host_registry()
    hosts = [registry.host(u) for u in urls]
    tried: set[str] = set()
    last: BaseException | None = None
    while True:
        untried = [h for h in hosts if h.url not in tried]
        if not untried:
            assert last is not None
            raise last
        now = time.monotonic()
        live = [h for h in untried if h.backoff_until <= now] or untried  # all backed off: try anyway
        host = min(live, key=lambda h: (h.load(), h.backoff_until, h.url))
        host.queued += 1
        try:
            async with host.slot(model):
                result = await call(host.url)
        except Exception as exc:
            if not is_host_failure(exc):
                raise
            host.failures += 1
            host.backoff_until = time.monotonic() + min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (host.failures - 1))
            tried.add(host.url)
            last = exc
            continue
        finally:
            host.queued -= 1
        host.failures = 0
        host.served += 1
        return result
