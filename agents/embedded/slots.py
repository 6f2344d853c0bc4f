"""Which llama.cpp slot serves a request: keep the calls that share a long prefix on one slot.

llama.cpp keeps one prompt cache per slot. A judgment's calls share everything up to the criterion
they ask about (the judge's instructions, the rubric, the transcript), so the second call onwards
reads only a few new tokens, if it lands on the slot that served the first. Left to itself, the
server gives a request any free slot, and another request can take the slot a judgment was using
between two of its calls, evicting its transcript.

Each request names what it belongs to (`X-Debatelab-Affinity`: a debate's or a judgment's id).
A key keeps the slot it was first given (its home), and waits for it when it is busy: reading a
transcript again costs more than waiting for one short reply. A slot is *held* while a keyed
request runs on it and for a short quiet spell after its last keyed call (a judgment's next call
follows its last within milliseconds; one that stays away that long has finished). A judgment
marks its last call (`X-Debatelab-Affinity-Last`), which frees the slot as soon as it is answered.

A new key goes to a slot no live key holds, even a busy one: waiting once for one reply is
cheaper than two judgments evicting each other's transcript on every call, which is what
happened when it took the free slot another judgment held. A request without a key never waits
while a slot is free (the runner keeps only as many requests in flight as there are slots, so a
wait would idle the engine); among free slots it takes one no live key holds. Ties go to the
least recently used slot.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 4096  # homes remembered (least recently used forgotten)
QUIET_S = 0.5  # a key that made no call for this long no longer holds its slot


class SlotAffinity:
    def __init__(self, slots: int, quiet_s: float = QUIET_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.slots = slots
        self.quiet_s = quiet_s
        self._clock = clock
        self._lock = threading.Lock()
        self._busy = [0] * slots
        self._busy_keyed = [0] * slots
        self._keyed_until = [0.0] * slots  # held by a key until then (last keyed call + quiet_s)
        self._last_used = [0.0] * slots
        self._home: OrderedDict[str, int] = OrderedDict()

    def _held(self, slot: int, now: float) -> bool:
        return self._busy_keyed[slot] > 0 or now < self._keyed_until[slot]

    def acquire(self, key: str | None) -> int:
        """The slot for a request with this key (marked busy until `release`)."""
        with self._lock:
            slot = self._home.get(key) if key is not None else None
            if slot is None:
                now = self._clock()
                if key is not None:  # a slot no live key holds first, even a busy one; then a free one
                    rank = lambda s: (self._held(s, now), self._busy[s] > 0, self._last_used[s])  # noqa: E731
                else:  # never wait while a slot is free; among free ones, one no live key holds
                    rank = lambda s: (self._busy[s] > 0, self._held(s, now), self._last_used[s])  # noqa: E731
                slot = min(range(self.slots), key=rank)
                if key is not None:
                    self._home[key] = slot
                    while len(self._home) > MAX_KEYS:
                        self._home.popitem(last=False)
            elif key is not None:
                self._home.move_to_end(key)
            self._busy[slot] += 1
            if key is not None:
                self._busy_keyed[slot] += 1
            return slot

    def release(self, slot: int, key: str | None = None, *, last: bool = False) -> None:
        """The request placed by `acquire(key)` on `slot` is done; `last` if it was the key's last
        call (a judgment's last criterion), so the slot needs no quiet spell before others take it."""
        with self._lock:
            now = self._clock()
            self._busy[slot] -= 1
            self._last_used[slot] = now
            if key is not None:
                self._busy_keyed[slot] -= 1
                self._keyed_until[slot] = now if last else now + self.quiet_s
