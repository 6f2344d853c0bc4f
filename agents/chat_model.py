"""The one factory that turns a `ModelSpec` into a configured chat model: `ChatOllama` for Ollama
servers (a user's, or the embedded endpoint), `ChatOpenAI` for OpenAI-compatible servers (vLLM,
SGLang, llama.cpp's server, LM Studio, hosted APIs; `provider: openai`).

Both are LangChain's maintained clients; debatelab adds what a run needs around them: the host's
call slot held for the request alone, a liveness watch on a silent host, the affinity header, and
(for ChatOpenAI) Ollama's `format` schema sent as OpenAI's JSON-schema `response_format`.
"""

from __future__ import annotations

import asyncio
import json
import os
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_ollama import ChatOllama
from pydantic import SecretStr

from debatelab.agents.call_affinity import affinity_hooks
from debatelab.agents.calls import OUTPUT_CAP_FIELDS, held_call_slot
from debatelab.agents.embedded.launcher import ENV_HOST, register_gguf, resolve_embedded_host
from debatelab.agents.host_liveness import CONNECT_TIMEOUT_S
from debatelab.agents.host_pool import call_on_pool, watch_host
from debatelab.agents.model_errors import is_host_failure
from debatelab.agents.model_spec import EMBEDDED, ModelSpec, default_ollama_host, default_openai_base_url
from debatelab.base import UserError, redact, remember_secret


def single_host(spec: ModelSpec) -> ModelSpec:
    """A pool of one host is that host."""
    if spec.hosts and len(spec.hosts) == 1:
        return spec.model_copy(update={"host": spec.hosts[0], "hosts": None})
    return spec


SERVED_URL_ENV = "DEBATELAB_SERVED_URL"
SERVED_MODELS_ENV = "DEBATELAB_SERVED_MODELS"


def served_here(spec: ModelSpec) -> str | None:
    """The server a cluster task started for this model, if any.

    `debatelab slurm` starts one model server per task and sets $DEBATELAB_SERVED_URL (and
    $DEBATELAB_SERVED_MODELS, comma-separated tags; unset means every model): those models' calls
    go there whatever host the experiment names, so one experiment file runs on a workstation and
    on every node of an array. Hosts are not part of a debate's identity, so the ids match."""
    url = os.environ.get(SERVED_URL_ENV, "").strip().rstrip("/")
    if not url:
        return None
    models = [m.strip() for m in os.environ.get(SERVED_MODELS_ENV, "").split(",") if m.strip()]
    if models and spec.model not in models:
        return None
    if spec.provider == "openai":
        return url if url.endswith("/v1") else f"{url}/v1"
    return url


def resolve_url(host: str | None, spec: ModelSpec) -> str:
    """The base URL of one host word of `spec`: a URL, `embedded` (started or found), or None
    ($OLLAMA_HOST; for provider openai, $OPENAI_BASE_URL); a cluster task's own server first."""
    served = served_here(spec)
    if served:
        return served
    if host == EMBEDDED:
        if spec.gguf:
            register_gguf(spec.model, spec.gguf)
        url = resolve_embedded_host()
        return f"{url}/v1" if spec.provider == "openai" else url
    if host:
        return host
    return default_openai_base_url() if spec.provider == "openai" else default_ollama_host()


def resolve_hosts(spec: ModelSpec) -> list[str]:
    """Every base URL a spec's calls may go to (one, or a pool's)."""
    return list(dict.fromkeys(resolve_url(h, spec) for h in spec.hosts or (spec.host,)))


def pool_label(spec: ModelSpec) -> str:
    """Where a spec's calls go, for the store's `host` column: a URL, or `pool(URL,URL)` (passwords
    in the URLs redacted)."""
    urls = [redact(u) for u in resolve_hosts(spec)]
    return urls[0] if len(urls) == 1 else f"pool({','.join(urls)})"


def resolve_host(spec: ModelSpec) -> str:
    """The base URL a spec's calls go to (the word `embedded` starts or finds the endpoint);
    for a pool, its first host."""
    return resolve_url(spec.hosts[0] if spec.hosts else spec.host, spec)


class HostChatOllama(ChatOllama):
    """ChatOllama that holds its host's call slot for the HTTP request alone (`held_call_slot`), and
    gives up on a host that stops showing signs of life (`watch_host`)."""

    takes_call_slot: ClassVar[bool] = True

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        async with held_call_slot():
            request = super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
            return await watch_host(self.base_url or "", request)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: Any = None, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async with held_call_slot():
            async for chunk in super()._astream(messages, stop=stop, run_manager=run_manager, **kwargs):
                yield chunk


def api_key_of(spec: ModelSpec) -> SecretStr:
    """The key from the spec's environment variable, read at the moment a client is built and held
    only in memory (a SecretStr: never printed, stored, traced or logged). Servers without keys
    (vLLM, llama.cpp by default) get a placeholder, which they ignore."""
    if spec.api_key_env is None:
        return SecretStr("not-needed")
    value = os.environ.get(spec.api_key_env, "")
    if not value:
        raise UserError(f"model {spec.label}: environment variable {spec.api_key_env} (field 'api_key_env') is not "
                        f"set; export it with the server's API key")
    remember_secret(value)  # a server that echoes it gets it redacted from every line and row
    return SecretStr(value)


MAX_SHARED_PER_LOOP = 64  # distinct specs kept per event loop (repeats shift seeds, so specs keep coming)


class _SharedModels(OrderedDict[str, BaseChatModel]):
    """The chat models one event loop shares, least recently used evicted past a bound: a long run
    whose repeats shift every seed would otherwise keep one ChatOllama per seed forever."""

    def get_or_build(self, key: str, build: Callable[[], BaseChatModel]) -> BaseChatModel:
        model = self.get(key)
        if model is None:
            model = self.put(key, build())
        else:
            self.move_to_end(key)
        return model

    def put(self, key: str, model: BaseChatModel) -> BaseChatModel:
        self[key] = model
        self.move_to_end(key)
        while len(self) > MAX_SHARED_PER_LOOP:
            self.popitem(last=False)
        return model


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedModels] = weakref.WeakKeyDictionary()


def make_chat_model(spec: ModelSpec, **overrides: Any) -> BaseChatModel:
    """A ChatOllama for `spec` (a PooledChatModel for a pool), shared by every agent with the same
    spec in this event loop.

    Building one creates two HTTP clients and loads the CA bundle twice (~90 ms); an experiment
    with hundreds of debates would spend longer on that than on scheduling. ChatOllama is safe
    for concurrent calls, but its async client belongs to one event loop, hence one cache per loop.
    """
    spec = single_host(spec)
    if spec.pool:
        return PooledChatModel(spec=spec, **({"num_predict": spec.num_predict} if spec.num_predict else {}), **overrides)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _build(spec, **overrides)
    key = spec.model_dump_json() + json.dumps(overrides, sort_keys=True, default=str) + _host_key(spec)
    return _SHARED.setdefault(loop, _SharedModels()).get_or_build(key, lambda: _build(spec, **overrides))


async def shared_chat_model(spec: ModelSpec) -> BaseChatModel:
    """`make_chat_model` for async code: a cache miss (which may start the embedded endpoint and
    builds HTTP clients) runs in a worker thread, so the event loop never blocks on it. LangGraph
    Server refuses blocking calls in a run, and a blocked loop stalls every concurrent debate."""
    spec = single_host(spec)
    if spec.pool:
        return make_chat_model(spec)
    loop = asyncio.get_running_loop()
    per_loop = _SHARED.setdefault(loop, _SharedModels())
    key = spec.model_dump_json() + "{}" + _host_key(spec)
    model = per_loop.get(key)
    if model is None:
        model = per_loop.put(key, await asyncio.to_thread(_build, spec))
    else:
        per_loop.move_to_end(key)
    return model


def _host_key(spec: ModelSpec) -> str:
    """What identifies the host without resolving it (resolving `embedded` may start a server)."""
    if spec.host == EMBEDDED:
        return f"embedded={os.environ.get(ENV_HOST, '')}"
    return spec.host or default_ollama_host()


def _build(spec: ModelSpec, **overrides: Any) -> BaseChatModel:
    return _build_openai(spec, **overrides) if spec.provider == "openai" else _build_ollama(spec, **overrides)


def _build_openai(spec: ModelSpec, **overrides: Any) -> BaseChatModel:
    """ChatOpenAI on the spec's base URL. Retries are debatelab's (node retry policies and pool
    failover), so the client's own are off; Ollama-only options (num_ctx, keep_alive, ...) do not
    apply to these servers and are not sent."""
    from debatelab.agents.openai_chat import HostChatOpenAI  # langchain-openai takes ~1 s to import: only when used

    base_url = resolve_host(spec)
    timeout = httpx.Timeout(spec.timeout, connect=min(spec.timeout, CONNECT_TIMEOUT_S))
    sync_hooks, async_hooks = affinity_hooks()
    kwargs: dict[str, Any] = {
        "model": spec.model, "base_url": base_url, "api_key": api_key_of(spec), "max_retries": 0,
        "timeout": timeout,
        "http_client": httpx.Client(timeout=timeout, event_hooks=sync_hooks),
        "http_async_client": httpx.AsyncClient(timeout=timeout, event_hooks=async_hooks),
    }
    for ours, theirs in (("temperature", "temperature"), ("seed", "seed"), ("top_p", "top_p"), ("stop", "stop"),
                         ("num_predict", "max_tokens")):
        value = getattr(spec, ours)
        if value is not None:
            kwargs[theirs] = value
    if "num_predict" in overrides:
        kwargs["max_tokens"] = overrides.pop("num_predict")
    kwargs.update(overrides)
    return HostChatOpenAI(**kwargs)


def _build_ollama(spec: ModelSpec, **overrides: Any) -> HostChatOllama:
    """The timeout goes through `client_kwargs` (ChatOllama has no timeout field and otherwise
    waits forever) and `num_ctx` is always explicit (Ollama's default silently truncates)."""
    base_url = resolve_host(spec)
    # A host that does not accept a connection fails fast; one that accepts and then stays silent is
    # caught by `watch_host`; a generation itself may take up to the spec's timeout.
    client_kwargs: dict[str, Any] = {"timeout": httpx.Timeout(spec.timeout, connect=min(spec.timeout, CONNECT_TIMEOUT_S))}
    if base_url.startswith("http://"):
        # No TLS on a plain-HTTP host, so the CA bundle httpx loads for each client (~45 ms,
        # twice per ChatOllama) is never used. HTTPS hosts keep full verification.
        client_kwargs["verify"] = False
    sync_hooks, async_hooks = affinity_hooks()  # a debate's or judgment's calls carry its affinity key
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "base_url": base_url,
        "num_ctx": spec.num_ctx,
        "client_kwargs": client_kwargs,
        "sync_client_kwargs": {"event_hooks": sync_hooks},
        "async_client_kwargs": {"event_hooks": async_hooks},
        "validate_model_on_init": False,
    }
    for name in ("temperature", "seed", "num_predict", "top_p", "stop", "repeat_penalty", "reasoning", "keep_alive"):
        value = getattr(spec, name)
        if value is not None:
            kwargs[name] = value
    kwargs.update(overrides)
    return HostChatOllama(**kwargs)


class PooledChatModel(BaseChatModel):
    """A chat model whose calls go to whichever host of its pool is free (ChatOllama per host)."""

    spec: ModelSpec
    num_predict: int | None = None

    @property
    def _llm_type(self) -> str:
        return f"{self.spec.provider}-pool"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.spec.model, "hosts": list(self.spec.hosts or ())}

    def _host_spec(self, url: str) -> ModelSpec:
        return self.spec.model_copy(update={"host": url, "hosts": None})

    def _capped(self, member: BaseChatModel) -> BaseChatModel:
        """The member with the pool's output cap (num_predict for Ollama, max_tokens for ChatOpenAI)."""
        field = next((f for f in OUTPUT_CAP_FIELDS if f in type(member).model_fields), None)
        if self.num_predict is None or field is None or getattr(member, field, None) == self.num_predict:
            return member
        return member.model_copy(update={field: self.num_predict})

    async def _member(self, url: str) -> BaseChatModel:
        return self._capped(await shared_chat_model(self._host_spec(url)))

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        async def on(url: str) -> ChatResult:
            member = await self._member(url)
            result = await member._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
            for generation in result.generations:
                generation.message.response_metadata["host"] = url
            return result

        return await call_on_pool(self.spec.hosts or (), on, self.spec.model)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        """Synchronous use (scripts, notebooks): the hosts in order, the first that answers."""
        last: BaseException | None = None
        for url in self.spec.hosts or ():
            member = self._capped(make_chat_model(self._host_spec(url)))
            try:
                return member._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
            except Exception as exc:
                if not is_host_failure(exc):
                    raise
                last = exc
        assert last is not None
        raise last
