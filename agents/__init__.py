"""Agents: WHO speaks. Roles and their prompts, the role-plugin API, and the model layer: model
specs, the chat-model factory, host pools and scheduling, run bindings, preflight, what a failed
model call means, scripted models for dry runs and tests, and the embedded Ollama-compatible
endpoint (`debatelab.agents.embedded`)."""

from debatelab.agents.agent_spec import JUDGE_DEFAULTS, AgentSpec, ModelRef, Stance, coerce_model, with_judge_defaults
from debatelab.agents.call_affinity import (
    AFFINITY_HEADER,
    AFFINITY_LAST_HEADER,
    affinity,
    current_affinity,
    last_call_of_affinity,
    more_calls_of_affinity,
)
from debatelab.agents.calls import CallRecord, StructuredResult, Usage, call_structured, call_text, parse_structured
from debatelab.agents.chat_model import (
    SERVED_MODELS_ENV,
    SERVED_URL_ENV,
    PooledChatModel,
    make_chat_model,
    pool_label,
    resolve_host,
    resolve_hosts,
    resolve_url,
    shared_chat_model,
    single_host,
)
from debatelab.agents.context_window import context_tokens, estimate_tokens
from debatelab.agents.embedded.launcher import free_port, set_embedded_parallel
from debatelab.agents.host_pool import call_on_pool, expect_calls, host_registry
from debatelab.agents.host_slots import DEFAULT_CONCURRENCY, SwapAwareSlots, concurrency_for
from debatelab.agents.model_errors import describe_model_error, is_host_failure, is_transient, model_call_failed
from debatelab.agents.model_spec import EMBEDDED, ModelSpec, default_ollama_host, family_of
from debatelab.agents.preflight import (
    ModelCheck,
    check_models,
    list_host_models,
    pool_members,
    reported_digest,
    require_models,
)
from debatelab.agents.run_bindings import achat_model_for, bind_run, call_limit_for, chat_model_for
from debatelab.agents.scripted import ScriptedChatModel, WithLogprobs
from debatelab.agents.thinking import split_thinking

__all__ = [
    "SERVED_MODELS_ENV", "SERVED_URL_ENV", "context_tokens", "estimate_tokens", "free_port",
    "AFFINITY_HEADER", "AFFINITY_LAST_HEADER", "DEFAULT_CONCURRENCY", "EMBEDDED", "achat_model_for", "affinity",
    "AgentSpec", "bind_run", "call_limit_for", "call_on_pool", "call_structured", "call_text", "CallRecord", "Usage",
    "chat_model_for", "check_models", "coerce_model", "concurrency_for", "current_affinity", "default_ollama_host",
    "describe_model_error", "expect_calls", "family_of", "host_registry", "is_host_failure", "is_transient",
    "last_call_of_affinity", "more_calls_of_affinity", "list_host_models", "make_chat_model", "model_call_failed",
    "ModelCheck", "ModelSpec", "parse_structured", "pool_label", "pool_members", "PooledChatModel", "reported_digest",
    "require_models", "resolve_host", "resolve_hosts", "resolve_url", "ScriptedChatModel", "set_embedded_parallel",
    "shared_chat_model", "single_host", "split_thinking", "Stance", "StructuredResult", "SwapAwareSlots",
    "WithLogprobs", "JUDGE_DEFAULTS", "ModelRef", "with_judge_defaults",
]
