"""Built-in topologies; importing this package registers them."""

from debatelab.graphs.topologies import adversarial, critiqued, facilitated, mixture, single, society  # noqa: F401
