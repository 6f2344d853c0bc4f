"""One model call, measured; and structured calls that never invent a value.

Every call returns a `CallRecord` (text, thinking, tokens, duration, done_reason) so the store
can account for cost. Structured calls send the pydantic schema as Ollama's `format`
(constrained decoding), validate the reply themselves, treat a reply cut by the token limit as
a failure (LangChain's parser would silently close a partial object), and retry a bounded
number of times before reporting failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from debatelab.agents.thinking import message_text_and_thinking
from debatelab.base import redact_known

S = TypeVar("S", bound=BaseModel)


class Usage(TypedDict, total=False):
    """What model calls cost, as every stored turn, verdict and judgment records it."""

    input_tokens: int
    output_tokens: int
    duration_s: float


@dataclass
class CallRecord:
    text: str
    thinking: str
    input_tokens: int
    output_tokens: int
    duration_s: float
    done_reason: str | None
    model_name: str | None = None
    logprobs: list[Any] | None = None  # per output token, when the call asked for them

    def usage(self) -> Usage:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "duration_s": self.duration_s}


@dataclass
class StructuredResult(Generic[S]):
    value: S | None
    attempts: int
    failure: str | None
    calls: list[CallRecord] = field(default_factory=list)

    # What every attempt cost together (a retried reply was paid for too).
    @property
    def input_tokens(self) -> int:
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(c.output_tokens for c in self.calls)

    @property
    def duration_s(self) -> float:
        return round(sum(c.duration_s for c in self.calls), 4)


@dataclass
class CallSlot:
    """The host slot a call must hold, handed to a model that takes it itself (`takes_call_slot`),
    and when the model got it (the call's duration excludes the wait for it)."""

    limiter: Any
    started: float | None = None


_CALL_SLOT: ContextVar[CallSlot | None] = ContextVar("debatelab_call_slot", default=None)


@contextlib.asynccontextmanager
async def held_call_slot() -> AsyncIterator[None]:
    """Inside a model's `_agenerate`: hold the slot `call_text` handed down for the request itself.

    A slot held around the whole `ainvoke` also covers LangChain's callbacks and message handling
    before and after the request (about a millisecond): with one slot per host, the host would sit
    idle for that time between calls. ChatOllama (`HostChatOllama`) takes it here."""
    slot = _CALL_SLOT.get()
    if slot is None or slot.limiter is None:
        yield
        return
    async with slot.limiter:
        slot.started = time.perf_counter()
        yield
    # Let the call just granted the slot send its request before this task goes on to LangChain's
    # and LangGraph's bookkeeping (a checkpoint write among it): the host is not left idle meanwhile.
    await asyncio.sleep(0)


def _record(reply: BaseMessage, started: float) -> CallRecord:
    text, thinking = message_text_and_thinking(reply)
    usage = getattr(reply, "usage_metadata", None) or {}
    meta = getattr(reply, "response_metadata", None) or {}
    logprobs = meta.get("logprobs")
    if isinstance(logprobs, dict):  # OpenAI's shape: {"content": [per-token entries]}
        logprobs = logprobs.get("content")
    return CallRecord(
        text=redact_known(text),  # a server that writes the API key it was sent into its reply
        thinking=redact_known(thinking),
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        duration_s=round(time.perf_counter() - started, 4),
        done_reason=meta.get("done_reason") or meta.get("finish_reason"),  # Ollama's word, OpenAI's word
        model_name=meta.get("model_name") or meta.get("model"),
        logprobs=logprobs,
    )


async def call_text(
    model: BaseChatModel, messages: list[BaseMessage], *, limiter: asyncio.Semaphore | None = None,
    run_name: str | None = None, **kwargs: Any,
) -> CallRecord:
    """Invoke the model once and measure it; `limiter` caps concurrent calls to its host.

    `run_name` names the chat-model run in traces (the agent, not "ChatOllama").

    `stream=False` asks Ollama for one response instead of a chunk per token: nobody reads the
    tokens as they come, and parsing hundreds of chunks per call costs the event loop time that
    other debates' calls need (bench/scaling.py).
    """
    kwargs.setdefault("stream", False)
    if run_name:
        kwargs["config"] = {"run_name": run_name}
    if limiter is None:
        started = time.perf_counter()
        return _record(await model.ainvoke(messages, **kwargs), started)
    if getattr(model, "takes_call_slot", False):  # the model holds the slot for the request only
        slot = CallSlot(limiter)
        token = _CALL_SLOT.set(slot)
        try:
            reply = await model.ainvoke(messages, **kwargs)
        finally:
            _CALL_SLOT.reset(token)
        return _record(reply, slot.started if slot.started is not None else time.perf_counter())
    async with limiter:
        started = time.perf_counter()
        return _record(await model.ainvoke(messages, **kwargs), started)


def parse_structured(text: str, schema: type[S]) -> S:
    """Parse a JSON reply into `schema`; raises ValueError with a short reason."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ValueError(f"reply is not JSON ({exc.msg} at char {exc.pos})") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(object)"
        raise ValueError(f"field '{loc}': {err['msg']}") from None


@functools.lru_cache(maxsize=256)
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """A schema class's JSON schema, computed once per class (pydantic rebuilds it on every call).
    Schema classes are built once per shape (a rubric's scale, a question's letters), so the cache
    hits; its bound keeps a process that meets many shapes from growing without end."""
    return schema.model_json_schema()


OUTPUT_CAP_FIELDS = ("num_predict", "max_tokens")  # ChatOllama's name, ChatOpenAI's name


def _output_cap_field(model: BaseChatModel) -> str | None:
    """The field that caps a chat model's output tokens, whichever client it is."""
    fields = type(model).model_fields
    return next((f for f in OUTPUT_CAP_FIELDS if f in fields), None)


def with_min_output_tokens(model: BaseChatModel, tokens: int | None) -> BaseChatModel:
    """A copy of `model` allowed at least `tokens` output tokens.

    A structured reply cut short is worthless, so structured calls get room even when the
    configuration caps argument length (the study capped every reply at 200 tokens).
    """
    field = _output_cap_field(model)
    current = getattr(model, field, None) if field else None
    if tokens is None or field is None or current is None or current >= tokens:
        return model
    return model.model_copy(update={field: tokens})


def with_max_output_tokens(model: BaseChatModel, tokens: int) -> BaseChatModel:
    """A copy of `model` allowed at most `tokens` output tokens.

    A prose reply that is asked for in N words still needs a hard cap: an uncapped small model can
    ramble until the context is full, and its text is then pasted into the next prompt.
    """
    field = _output_cap_field(model)
    if field is None:
        return model
    current = getattr(model, field, None)
    if current is not None and 0 < current <= tokens:
        return model
    return model.model_copy(update={field: tokens})


async def call_structured(
    model: BaseChatModel, messages: list[BaseMessage], schema: type[S], *, max_attempts: int = 3,
    min_output_tokens: int | None = None, limiter: asyncio.Semaphore | None = None, top_logprobs: int = 0,
    run_name: str | None = None,
) -> StructuredResult[S]:
    """Ask for `schema` with constrained decoding; retry unparseable replies, then give up honestly.

    `top_logprobs` > 0 asks the server for each output token's log-probability and that many
    alternatives (kept on the CallRecord); servers without the feature simply omit them.
    """
    model = with_min_output_tokens(model, min_output_tokens)
    json_schema = json_schema_of(schema)
    extra: dict[str, Any] = {"logprobs": True, "top_logprobs": top_logprobs} if top_logprobs > 0 else {}
    calls: list[CallRecord] = []
    failure = "no attempt made"
    for attempt in range(1, max_attempts + 1):
        record = await call_text(model, messages, limiter=limiter, run_name=run_name, format=json_schema, **extra)
        calls.append(record)
        if record.done_reason == "length":
            failure = f"reply cut by the token limit after {record.output_tokens} tokens"
            continue
        try:
            return StructuredResult(parse_structured(record.text, schema), attempt, None, calls)
        except ValueError as exc:
            failure = str(exc)
    return StructuredResult(None, max_attempts, failure, calls)
