"""The embedded backend: an Ollama-compatible HTTP endpoint served by llama.cpp (xllamacpp).

No Ollama can run on the machines this project is developed and tested on, so debatelab ships
its own endpoint that speaks the Ollama API. ChatOllama talks to it exactly as it talks to a
real Ollama, so the code path the tests exercise is the one users run.
"""

from debatelab.agents.embedded.launcher import EmbeddedEndpoint, resolve_embedded_host
from debatelab.agents.embedded.weights import BUILTIN_MODELS, ensure_weights

__all__ = ["BUILTIN_MODELS", "EmbeddedEndpoint", "ensure_weights", "resolve_embedded_host"]
