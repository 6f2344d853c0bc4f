"""Beyond one machine: an experiment as a SLURM job array (a shard per task, each with its own model
server if asked) and a merge that waits for it; watched and resumed from the folder it writes."""

from debatelab.cluster.layout import SlurmOptions, SlurmRecord, require_record
from debatelab.cluster.merge import merge_shards
from debatelab.cluster.status import ClusterStatus, ShardState, cluster_status
from debatelab.cluster.submission import SubmitResult, submit
from debatelab.cluster.task import run_task

__all__ = ["ClusterStatus", "cluster_status", "merge_shards", "require_record", "run_task", "ShardState",
           "SlurmOptions", "SlurmRecord", "submit", "SubmitResult"]
