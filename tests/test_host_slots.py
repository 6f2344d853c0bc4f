"""A host's call slots: first come, first served, except that a judgment's freed slot waits a
moment for the judgment's next call; a cancelled wait never loses a slot."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

from debatelab.agents import affinity, last_call_of_affinity, more_calls_of_affinity
from debatelab.agents.host_slots import HostSlots


async def _call(slots: HostSlots, order: list[str], name: str, key: str | None = None, *, more: bool = False,
                last: bool = False, hold: asyncio.Event | None = None) -> None:
    marks = more_calls_of_affinity() if more else last_call_of_affinity() if last else nullcontext()
    with affinity(key) if key else nullcontext(), marks:
        async with slots:
            order.append(name)
            if hold is not None:
                await hold.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _judgment_beside_a_waiting_turn(slots: HostSlots, *, more: bool, gap_s: float) -> list[str]:
    """A judgment's call runs; a turn waits for the slot; the judgment's next call comes `gap_s` later."""
    order: list[str] = []
    gate = asyncio.Event()
    first = asyncio.create_task(_call(slots, order, "judge 1", "judge:j", more=more, hold=gate))
    await _settle()
    turn = asyncio.create_task(_call(slots, order, "turn"))
    await _settle()
    gate.set()
    await first
    await asyncio.sleep(gap_s)  # the judgment's step and checkpoint between two criteria
    await _call(slots, order, "judge 2", "judge:j", last=True)
    await turn
    return order


def test_a_judgments_freed_slot_waits_for_its_next_call() -> None:
    order = asyncio.run(_judgment_beside_a_waiting_turn(HostSlots(1, reserve_s=0.5), more=True, gap_s=0.01))
    assert order == ["judge 1", "judge 2", "turn"]


def test_without_more_calls_to_come_the_waiting_call_goes_first() -> None:
    order = asyncio.run(_judgment_beside_a_waiting_turn(HostSlots(1, reserve_s=0.5), more=False, gap_s=0.01))
    assert order == ["judge 1", "turn", "judge 2"]


def test_a_kept_slot_is_given_up_when_the_next_call_does_not_come() -> None:
    order = asyncio.run(_judgment_beside_a_waiting_turn(HostSlots(1, reserve_s=0.05), more=True, gap_s=0.3))
    assert order == ["judge 1", "turn", "judge 2"]  # the turn got the slot after 0.05 s, not 0.3 s


def test_the_last_call_keeps_nothing() -> None:
    async def main() -> bool:
        slots = HostSlots(1, reserve_s=10)
        await _call(slots, [], "judge 1", "judge:j", more=True)  # kept for judge:j ...
        assert slots.locked()
        await _call(slots, [], "judge 2", "judge:j", last=True)  # ... taken by its last call, then freed
        return slots.locked()

    assert asyncio.run(main()) is False


def test_cancelled_waits_do_not_lose_a_slot() -> None:
    async def main() -> None:
        slots = HostSlots(1)
        await slots.acquire()
        assert slots.locked()
        waiting = asyncio.create_task(slots.acquire())
        await _settle()
        waiting.cancel()  # cancelled while waiting: it is skipped
        await asyncio.gather(waiting, return_exceptions=True)
        granted = asyncio.create_task(slots.acquire())
        await _settle()
        slots.release()  # the slot is handed to `granted` ...
        granted.cancel()  # ... which is cancelled before it runs: the slot must pass on, not vanish
        await asyncio.gather(granted, return_exceptions=True)
        assert granted.cancelled() and not slots.locked()
        await asyncio.wait_for(slots.acquire(), 1)  # free at once

    asyncio.run(main())
