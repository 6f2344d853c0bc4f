"""Whether a checkpointed thread still has work: the one test every runner makes before resuming.

LangGraph's `StateSnapshot.next` leaves out tasks that already have their writes. A kill -9 after a
node's writes were saved but before the superstep's next checkpoint leaves a snapshot whose `next`
is empty while its `tasks` still hold the finished node, and `values` show its writes applied: read
as "finished", such a thread would be stored with part of its work (a judgment with one criterion
of five). Invoking with `None` applies the saved writes and goes on, so nothing is called twice.
"""

from __future__ import annotations

from typing import Any


def has_pending_work(snapshot: Any) -> bool:
    """True while the thread has a task to run or a finished task whose superstep is not closed."""
    return bool(snapshot.next or snapshot.tasks)
