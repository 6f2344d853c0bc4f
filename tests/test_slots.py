"""Slot affinity on the embedded endpoint: which llama.cpp slot a request is placed on.

A fake clock makes every placement exact. The case that matters is the demo's: two judgments and
a debate at once on two slots. Before, a new judgment took the free slot that another live
judgment held, and the two then evicted each other's transcript on every call."""

from __future__ import annotations

from debatelab.agents.embedded.slots import SlotAffinity


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_keeps_its_home_and_waits_for_it():
    clock = Clock()
    slots = SlotAffinity(2, quiet_s=0.5, clock=clock)
    a = slots.acquire("judge:a")
    slots.release(a, "judge:a")
    clock.now += 0.1
    assert slots.acquire("judge:a") == a  # its home, even though the other slot is free


def test_a_new_judgment_waits_for_an_unkeyed_call_rather_than_share_a_live_judgment_slot():
    clock = Clock()
    slots = SlotAffinity(2, quiet_s=0.5, clock=clock)
    first = slots.acquire("judge:a")
    slots.release(first, "judge:a")  # between two of judgment a's calls
    debate = slots.acquire(None)  # a debate's turn runs on the other slot
    assert debate != first
    clock.now += 0.2  # a judgment's next call follows within milliseconds: a is still live
    assert slots.acquire("judge:b") == debate  # busy, but no live key holds it
    assert slots.acquire("judge:a") == first


def test_an_unkeyed_call_never_waits_while_a_slot_is_free_and_prefers_one_no_key_holds():
    clock = Clock()
    slots = SlotAffinity(2, quiet_s=0.5, clock=clock)
    held = slots.acquire("judge:a")
    slots.release(held, "judge:a")
    clock.now += 0.1
    other = slots.acquire(None)
    assert other != held  # both free: the one judgment a does not hold
    assert slots.acquire(None) == held  # the other is busy: a free slot, held or not, rather than wait
    slots.release(held)
    slots.release(other)
    clock.now += 1.0  # judgment a has been quiet for longer than a judgment's calls are apart
    assert slots.acquire("judge:b") == held  # least recently used, no longer held


def test_a_quiet_slot_is_free_for_a_new_key_and_when_all_are_held_a_free_one_is_taken():
    clock = Clock()
    slots = SlotAffinity(2, quiet_s=0.5, clock=clock)
    a = slots.acquire("judge:a")
    b = slots.acquire("judge:b")
    assert a != b
    slots.release(a, "judge:a")
    assert slots.acquire("judge:c") == a  # both held (a quiet for 0 s): the free one
    slots.release(a, "judge:c")
    slots.release(b, "judge:b")
    clock.now += 1.0  # every key quiet: least recently used first
    assert slots.acquire("judge:d") in (a, b)


def test_a_keys_last_call_frees_its_slot_at_once():
    """A judgment marks its last criterion's call: the next judgment may take that slot at once
    instead of waiting beside it for another request to finish."""
    clock = Clock()
    slots = SlotAffinity(2, quiet_s=0.5, clock=clock)
    done = slots.acquire("judge:a")
    busy = slots.acquire(None)
    slots.release(done, "judge:a", last=True)
    assert slots.acquire("judge:b") == done  # not held: no waiting behind the busy slot
    slots.release(done, "judge:b")
    assert slots.acquire("judge:c") == busy  # b's slot is held (b may call again): c waits for the other


def test_the_judging_graph_marks_only_a_judgments_last_calls():
    """next_criteria flags the batch that leaves nothing unscored, and only that one."""
    from debatelab.graphs.judging import next_criteria
    from debatelab.rubric import load_rubric

    rubric = load_rubric("alignment-7").model_dump()

    class Runtime:
        def __init__(self, at_once: int) -> None:
            from debatelab.graphs.judging import JudgeContext
            self.context = JudgeContext(judge={"model": "m"}, criteria_at_once=at_once)

    ids = [c["id"] for c in rubric["criteria"]]
    state = {"rubric": rubric, "view": "v", "nonce": "n", "scores": [{"criterion": i} for i in ids[:5]]}
    sends = next_criteria(state, Runtime(1))
    assert [s.arg["last"] for s in sends] == [False]
    state["scores"].append({"criterion": ids[5]})
    assert [s.arg["last"] for s in next_criteria(state, Runtime(1))] == [True]
    state["scores"] = []
    assert {s.arg["last"] for s in next_criteria(state, Runtime(7))} == {True}
