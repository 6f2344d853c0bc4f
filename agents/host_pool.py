"""Model pools: one tag served by several hosts, with per-host slots and failover.

A lab runs the same model on several Ollama boxes. A pooled spec (`hosts: [...]`, or an
experiment's `pools:`) gets a `PooledChatModel`, which sends each call to the host with a free
slot and the least queued work. A host that fails (connection refused or lost, timeout, 5xx, or a
404 for the model) is backed off for a while (1 s, doubling to 60 s), and the call is retried on
another host of the pool; the call fails only when every host has failed it.

Per-host slots are one registry per event loop, shared with the runner's per-host limits, so a
host used both in a pool and directly never gets more calls at once than its limit.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import ollama
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from debatelab.agents.model_spec import ModelSpec

T = TypeVar("T")
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
DEFAULT_HOST_LIMIT = 1


def is_host_failure(exc: BaseException) -> bool:
    """Failures another host may not have: the host is down, slow, broken, or lacks the model."""
    if isinstance(exc, ollama.ResponseError):
        return exc.status_code >= 500 or exc.status_code in (404, 408, 429)
    return isinstance(exc, httpx.HTTPError | ConnectionError | TimeoutError)


@dataclass
class HostState:
    url: str
    slots: asyncio.Semaphore
    limit: int
    queued: int = 0  # calls waiting for or holding a slot
    failures: int = 0
    backoff_until: float = 0.0
    served: int = 0

    def load(self) -> float:
        return self.queued / self.limit


@dataclass
class HostRegistry:
    """Per event loop: every host's slots, and how many it allows (set by the runner)."""

    limit_for: Callable[[str], int] = field(default=lambda url: DEFAULT_HOST_LIMIT)
    hosts: dict[str, HostState] = field(default_factory=dict)

    def host(self, url: str) -> HostState:
        if url not in self.hosts:
            limit = max(1, int(self.limit_for(url)))
            self.hosts[url] = HostState(url, asyncio.Semaphore(limit), limit)
        return self.hosts[url]


_REGISTRIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HostRegistry] = weakref.WeakKeyDictionary()


def host_registry() -> HostRegistry:
    return _REGISTRIES.setdefault(asyncio.get_running_loop(), HostRegistry())


def set_host_limits(limit_for: Callable[[str], int]) -> None:
    """How many calls each host takes at once, for hosts not yet used in this event loop."""
    host_registry().limit_for = limit_for


def host_slots(url: str) -> asyncio.Semaphore:
    return host_registry().host(url).slots


async def call_on_pool(urls: tuple[str, ...], call: Callable[[str], Awaitable[T]]) -> T:
    """Run `call(url)` on the best host of the pool, failing over until one succeeds or all failed."""
    registry = host_registry()
    hosts = [registry.host(u) for u in urls]
    tried: set[str] = set()
    last: BaseException | None = None
    while True:
        untried = [h for h in hosts if h.url not in tried]
        if not untried:
            assert last is not None
            raise last
        now = time.monotonic()
        live = [h for h in untried if h.backoff_until <= now] or untried  # all backed off: try anyway
        host = min(live, key=lambda h: (h.load(), h.backoff_until, h.url))
        host.queued += 1
        try:
            async with host.slots:
                result = await call(host.url)
        except Exception as exc:
            if not is_host_failure(exc):
                raise
            host.failures += 1
            host.backoff_until = time.monotonic() + min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (host.failures - 1))
            tried.add(host.url)
            last = exc
            continue
        finally:
            host.queued -= 1
        host.failures = 0
        host.served += 1
        return result


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
        from debatelab.agents.chat_model import shared_chat_model

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

        return await call_on_pool(self.spec.hosts or (), on)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        """Synchronous use (scripts, notebooks): the hosts in order, the first that answers."""
        from debatelab.agents.chat_model import make_chat_model

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
