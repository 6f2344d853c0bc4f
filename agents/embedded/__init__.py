"""The embedded backend: an Ollama-compatible HTTP endpoint served by llama.cpp (xllamacpp).

No Ollama can run on the machines this project is developed and tested on, so debatelab ships
its own endpoint that speaks the Ollama API. ChatOllama talks to it exactly as it talks to a
real Ollama, so the code path the tests exercise is the one users run.
"""

from debatelab.agents.embedded.launcher import (
    ENV_HOST,
    STALE_LOG_S,
    EmbeddedEndpoint,
    port_in_use,
    register_gguf,
    resolve_embedded_host,
    running_embedded_host,
    served_models,
    set_embedded_parallel,
)
from debatelab.agents.embedded.server import make_server
from debatelab.agents.embedded.weights import BUILTIN_MODELS, ensure_weights, parse_model_registration

__all__ = [
    "BUILTIN_MODELS", "ENV_HOST", "STALE_LOG_S", "EmbeddedEndpoint", "ensure_weights", "make_server",
    "parse_model_registration", "port_in_use", "register_gguf", "resolve_embedded_host", "running_embedded_host",
    "served_models", "set_embedded_parallel",
]
