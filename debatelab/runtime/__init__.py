"""What every long-running part of the lab shares: the live progress display, tracing, per-host
call limits, one failure policy, and the start-up heap freeze (for the CLI's entry points)."""

from debatelab.runtime.failures import Failure, Failures, failure_line
from debatelab.runtime.heap import freeze_startup_heap
from debatelab.runtime.host_limits import LimiterFor, LimitFor, MaxLoadedFor, host_limiters
from debatelab.runtime.progress import RunProgress
from debatelab.runtime.tracing import tracing_guard

__all__ = ["Failure", "Failures", "LimitFor", "LimiterFor", "MaxLoadedFor", "RunProgress", "failure_line",
           "freeze_startup_heap", "host_limiters", "tracing_guard"]
