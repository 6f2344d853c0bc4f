"""The one factory that turns a `ModelSpec` into a configured `ChatOllama`.

Every model call in the product goes through ChatOllama, whether the host is a user's Ollama
or the embedded endpoint, so the code path tested here is the one users run.
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

from debatelab.agents.calls import held_call_slot
from debatelab.agents.embedded.launcher import ENV_HOST, register_gguf, resolve_embedded_host
from debatelab.agents.host_pool import CONNECT_TIMEOUT_S, affinity_hooks, call_on_pool, watch_host
from debatelab.agents.model_errors import is_host_failure
from debatelab.agents.model_spec import EMBEDDED, ModelSpec, default_ollama_host
from debatelab.base.secrets import redact


def single_host(spec: ModelSpec) -> ModelSpec:
    """A pool of one host is that host."""
    if spec.hosts and len(spec.hosts) == 1:
        return spec.model_copy(update={"host": spec.hosts[0], "hosts": None})
    return spec


def resolve_url(host: str | None, spec: ModelSpec) -> str:
    """The base URL of one host word of `spec`: a URL, `embedded` (started or found), or None ($OLLAMA_HOST)."""
    if host == EMBEDDED:
        if spec.gguf:
            register_gguf(spec.model, spec.gguf)
        return resolve_embedded_host()
    return host or default_ollama_host()


def resolve_hosts(spec: ModelSpec) -> list[str]:
    """Every base URL a spec's calls may go to (one, or a pool's)."""
    return [resolve_url(h, spec) for h in spec.hosts or (spec.host,)]


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


def _build(spec: ModelSpec, **overrides: Any) -> HostChatOllama:
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
        return "ollama-pool"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.spec.model, "hosts": list(self.spec.hosts or ())}

    def _host_spec(self, url: str) -> ModelSpec:
        return self.spec.model_copy(update={"host": url, "hosts": None})

    async def _member(self, url: str) -> BaseChatModel:
        member = await shared_chat_model(self._host_spec(url))
        if self.num_predict is not None and getattr(member, "num_predict", None) != self.num_predict:
            member = member.model_copy(update={"num_predict": self.num_predict})
        return member

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
            member = make_chat_model(self._host_spec(url))
            if self.num_predict is not None:
                member = member.model_copy(update={"num_predict": self.num_predict})
            try:
                return member._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
            except Exception as exc:
                if not is_host_failure(exc):
                    raise
                last = exc
        assert last is not None
        raise last
