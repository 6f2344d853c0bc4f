"""The store: the results database (the only module that speaks SQL to it), the checkpoint file,
and moving results in and out (merge, export, import).

    with Store.open("results.db") as store:
        store.debates("demo", finished_only=True)
"""

from debatelab.store.checkpoints import (
    DEFAULT_CHECKPOINTS,
    InlineSqliteSaver,
    check_checkpoint_file,
    data_only_serializer,
    open_checkpointer,
)
from debatelab.store.database import DEFAULT_RESULTS, StoreNeedsUpgrade
from debatelab.store.export import export_experiment
from debatelab.store.merge import merge_stores
from debatelab.store.paper_import import import_paper
from debatelab.store.schema import HUMAN_PREFIX, SCHEMA_VERSION, is_human, iso_timestamp
from debatelab.store.store import Store

__all__ = [
    "DEFAULT_CHECKPOINTS", "DEFAULT_RESULTS", "HUMAN_PREFIX", "SCHEMA_VERSION", "InlineSqliteSaver", "Store",
    "StoreNeedsUpgrade", "check_checkpoint_file", "data_only_serializer", "export_experiment", "import_paper",
    "is_human", "iso_timestamp", "merge_stores", "open_checkpointer",
]
