"""Agents: WHO speaks. Roles and their prompts, and the model layer (ChatOllama factory,
preflight, the embedded Ollama-compatible endpoint)."""

from agents.chat_model import make_chat_model, resolve_host
from agents.model_spec import ModelSpec
from agents.preflight import check_models, require_models

__all__ = ["ModelSpec", "check_models", "make_chat_model", "require_models", "resolve_host"]
