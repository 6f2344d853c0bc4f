"""Which llama.cpp slot serves a request: keep the calls that share a long prefix on one slot.

llama.cpp keeps one prompt cache per slot. A judgment's calls share everything up to the criterion
they ask about (the judge's instructions, the rubric, the transcript), so the second call onwards
reads only a few new tokens, if it lands on the slot that served the first. Left to itself, the
server gives a request any free slot, and another request can take the slot a judgment was using
between two of its calls, evicting its transcript.

Each request names what it belongs to (`X-Debatelab-Affinity`: a debate's or a judgment's id).
A key keeps the slot it was first given (its home), and waits for it when it is busy: reading a
transcript again costs more than waiting for one short reply. A new key takes a free slot whose
last owner has gone quiet, least recently used first. Requests without a key are placed the same
way, without a home.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_KEYS = 4096  # homes remembered (least recently used forgotten)
QUIET_S = 2.0  # a slot whose owner made no call for this long may be taken by a new key


class SlotAffinity:
    def __init__(self, slots: int, quiet_s: float = QUIET_S) -> None:
        self.slots = slots
        self.quiet_s = quiet_s
        self._lock = threading.Lock()
        self._busy = [0] * slots
        self._owner: list[str | None] = [None] * slots
        self._last_used = [0.0] * slots
        self._home: OrderedDict[str, int] = OrderedDict()

    def acquire(self, key: str | None) -> int:
        """The slot for a request with this key (marked busy until `release`)."""
        with self._lock:
            slot = self._home.get(key) if key is not None else None
            if slot is None:
                now = time.monotonic()
                slot = min(range(self.slots), key=lambda s: (
                    self._busy[s] > 0,  # a free slot first
                    self._owner[s] is not None and now - self._last_used[s] < self.quiet_s,  # whose owner is quiet
                    self._last_used[s]))  # least recently used
                if key is not None:
                    self._home[key] = slot
                    while len(self._home) > MAX_KEYS:
                        self._home.popitem(last=False)
            elif key is not None:
                self._home.move_to_end(key)
            self._busy[slot] += 1
            self._owner[slot] = key
            return slot

    def release(self, slot: int) -> None:
        with self._lock:
            self._busy[slot] -= 1
            self._last_used[slot] = time.monotonic()
