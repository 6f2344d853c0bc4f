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
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from debatelab.agents.model_errors import is_host_failure

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


async def host_answers(url: str, timeout_s: float | None = None) -> bool:
    """Whether the host answers its liveness probe in time (any HTTP status counts as an answer)."""
    timeout_s = timeout_s if timeout_s is not None else host_registry().probe_timeout_s
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=not url.startswith("http://")) as client:
            await client.get(probe_url(url))
        return True
    except (httpx.HTTPError, OSError):
        return False


_WATCHED: ContextVar[bool] = ContextVar("debatelab_host_watched", default=False)

# -- affinity: the calls of one debate or one judgment go to the same place ---------------------------
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


RESERVE_S = 0.25  # how long a freed call slot waits for the same judgment's next call


class HostSlots:
    """A host's call slots: `asyncio.Semaphore(limit)`'s interface (first come, first served), except
    that a slot freed by a judgment's call made under `more_calls_of_affinity()` is kept for that
    judgment's next call for up to `reserve_s` before a waiting call gets it.

    Why: a judgment's calls are pinned to one server slot, the one holding its transcript, and the
    next call follows the last within milliseconds (LangGraph's step and checkpoint). When a call
    that had waited (a debate's turn, a new judgment) took the freed client slot in those
    milliseconds, the judgment's next call waited for a client slot, then for its own server slot,
    busy with the newcomer, while the server's other slot sat idle: 27 s of a 160 s demo on the
    embedded endpoint (its request log, 2026-12-01). With the slot kept, the judgment goes on where
    its transcript is and the newcomer takes the next slot that frees."""

    def __init__(self, limit: int, reserve_s: float = RESERVE_S) -> None:
        self.reserve_s = reserve_s
        self._free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._reserved: dict[str, asyncio.TimerHandle] = {}  # affinity key -> the expiry of its kept slot

    def _waiting(self) -> bool:
        return any(not f.done() for f in self._waiters)

    def locked(self) -> bool:
        return self._free == 0 or self._waiting()

    async def acquire(self) -> bool:
        key = _AFFINITY.get()
        if key is not None and key in self._reserved:  # the slot kept for this judgment
            self._reserved.pop(key).cancel()
            return True
        if self._free > 0 and not self._waiting():
            self._free -= 1
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed a slot, then cancelled: pass it on
                self._grant()
            raise
        return True

    def release(self) -> None:
        key = _AFFINITY.get()
        if key is not None and _MORE.get() and key not in self._reserved:
            self._reserved[key] = asyncio.get_running_loop().call_later(self.reserve_s, self._expire, key)
            return
        self._grant()

    def _expire(self, key: str) -> None:
        if self._reserved.pop(key, None) is not None:  # the next call did not come: free the slot
            self._grant()

    def _grant(self) -> None:
        """A freed slot goes to the longest-waiting call still waiting, or is kept free."""
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():  # a cancelled wait is skipped
                future.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


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
        self.lingered = 0  # times a swap waited for a call that may come (tests read it)
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
        self.lingered += 1
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
