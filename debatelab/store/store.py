"""`Store`: the results database as one object, composed of its domain parts.

Each part (experiments, debates, judgments, questions, pairwise verdicts, audits, stance readings, the viewer's
reads, shard tables) lives in its own module with the SQL it needs; `Store` is all of them over
one connection. Open it with `Store.open(path)`, preferably as a context manager.
"""

from __future__ import annotations

from debatelab.store.audits import AuditRecords
from debatelab.store.browse import BrowseQueries
from debatelab.store.debates import DebateRecords
from debatelab.store.experiments import ExperimentRecords
from debatelab.store.frames import FrameReads
from debatelab.store.judgments import JudgmentRecords
from debatelab.store.oversight import OversightRecords
from debatelab.store.pairwise import PairwiseRecords
from debatelab.store.questions import QuestionRecords
from debatelab.store.shards import ShardRecords
from debatelab.store.stances import StanceRecords


class Store(ExperimentRecords, DebateRecords, JudgmentRecords, QuestionRecords, OversightRecords, PairwiseRecords,
            AuditRecords, StanceRecords, BrowseQueries, ShardRecords, FrameReads):
    """The results database. Open it with `Store.open(path)`; read and write it with its methods.

    Example:
        ```python
        with Store.open("results.db", create=False) as store:
            store.debates("demo", finished_only=True)
        ```
    """
