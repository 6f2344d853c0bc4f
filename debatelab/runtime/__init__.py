"""What every long-running part of the lab shares: the live progress display, tracing, per-host
call limits, one failure policy, the start-up heap freeze and the report's imports taken off the
end of a run (for the CLI's entry points)."""

from debatelab.runtime.background_imports import import_in_background
from debatelab.runtime.failures import Failure, Failures, each_guarded, failure_line
from debatelab.runtime.heap import freeze_startup_heap
from debatelab.runtime.host_limits import LimiterFor, LimitFor, MaxLoadedFor, host_limiters
from debatelab.runtime.progress import RunProgress
from debatelab.runtime.tracing import tracing_guard

__all__ = ["each_guarded", "Failure", "Failures", "LimitFor", "LimiterFor", "MaxLoadedFor", "RunProgress", "failure_line",
           "freeze_startup_heap", "host_limiters", "import_in_background", "tracing_guard"]
