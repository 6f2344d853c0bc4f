"""Agents: WHO speaks. Roles and their prompts, the role-plugin API, and the model layer
(model specs, the ChatOllama factory, run bindings, preflight, the embedded Ollama-compatible
endpoint)."""

from debatelab.agents.agent_spec import AgentSpec
from debatelab.agents.chat_model import make_chat_model, resolve_host
from debatelab.agents.model_spec import ModelSpec
from debatelab.agents.preflight import check_models, require_models
from debatelab.agents.roles import NodeFn, RoleInstance, available_roles, role, speaker_node
from debatelab.agents.run_bindings import achat_model_for, bind_run, chat_model_for

__all__ = [
    "AgentSpec", "ModelSpec", "achat_model_for", "NodeFn", "RoleInstance", "available_roles", "bind_run", "chat_model_for",
    "check_models", "make_chat_model", "require_models", "resolve_host", "role", "speaker_node",
]
