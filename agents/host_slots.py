"""Per-host call slots: how many calls a host takes at once (`concurrency_for`), slots that hold a
freed place briefly for the same judgment's next call (`HostSlots`), and swap-aware slots for
hosts that hold few models at a time (`SwapAwareSlots`: calls for loaded models first, the
run's announced calls batched so a model is swapped in once).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from debatelab.agents.call_affinity import _AFFINITY, _MORE

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


