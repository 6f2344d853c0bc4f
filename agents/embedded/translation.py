"""Translating between the wire formats and the engine: Ollama's and OpenAI's request bodies into
an `EngineRequest`, and an `EngineResult` back into Ollama's or OpenAI's final payload, with the
model entries of `/api/tags`, `/api/ps` and `/v1/models`. No sockets here: `server.py` routes,
`streaming.py` writes streamed replies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from debatelab.agents.embedded.engine import (
    ChatEngine,
    ContextOverflowError,
    EngineRequest,
    EngineResult,
    SchemaError,
)
from debatelab.agents.embedded.validation import (
    BadRequest,
    check_schema_bounds,
    refuse_unsupported,
    validate_options,
)

API_VERSION = "0.12.0"

# Ollama's sampling defaults (llama.cpp's own differ: no repeat penalty). Requests that leave an
# option out get what a real Ollama would use, so behaviour matches across the two backends.
OLLAMA_DEFAULT_OPTIONS: dict[str, Any] = {
    "temperature": 0.8, "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.1, "repeat_last_n": 64,
}


@dataclass
class ServedModel:
    """A tag the endpoint answers for, its engine (built lazily) and what /api/tags shows."""

    tag: str
    make_engine: Callable[[], ChatEngine]
    digest: str = ""
    size: int = 0
    family: str = "llama"
    parameter_size: str = ""
    quantization: str = ""
    context: int = 0  # tokens per slot: what one request may hold, prompt and reply (0: not stated)
    _engine: ChatEngine | None = None

    def engine(self) -> ChatEngine:
        if self._engine is None:
            self._engine = self.make_engine()
        return self._engine

    @property
    def loaded(self) -> bool:
        """Whether the engine was built (what /api/ps lists)."""
        return self._engine is not None


def iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


MAX_TOP_LOGPROBS = 20  # Ollama's limit


def chat_messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest("field 'messages': must be a non-empty list")
    clean: list[dict[str, str]] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest(f"messages.{i}: each message needs a 'role' and 'content'")
        if m["role"] not in ("system", "user", "assistant"):
            raise BadRequest(f"messages.{i}.role: {m['role']!r} is not system, user or assistant")
        content = m.get("content")
        if content is not None and not isinstance(content, str):
            raise BadRequest(f"messages.{i}.content: must be text (multimodal content is not supported)")
        clean.append({"role": m["role"], "content": content or ""})
    return clean


def ollama_format(fmt: Any) -> tuple[dict[str, Any] | None, bool]:
    """(JSON schema, plain-JSON flag) from Ollama's `format`."""
    if fmt == "json":
        return None, True
    if isinstance(fmt, dict):
        check_schema_bounds(fmt)
        return fmt, False
    if fmt in (None, ""):
        return None, False
    raise BadRequest(f"field 'format': invalid {fmt!r}: use \"json\" or a JSON schema object")


def engine_request(body: dict[str, Any], messages: list[dict[str, str]] | None = None) -> EngineRequest:
    refuse_unsupported(body)
    clean = messages if messages is not None else chat_messages(body.get("messages"))
    options = {**OLLAMA_DEFAULT_OPTIONS, **validate_options(body.get("options"))}
    schema, json_object = ollama_format(body.get("format"))
    top_logprobs = body.get("top_logprobs") or 0
    if not isinstance(top_logprobs, int) or isinstance(top_logprobs, bool) or not 0 <= top_logprobs <= MAX_TOP_LOGPROBS:
        raise BadRequest(f"field 'top_logprobs': must be an integer from 0 to {MAX_TOP_LOGPROBS}")
    max_tokens = options.get("num_predict")
    return EngineRequest(
        messages=clean,
        max_tokens=None if max_tokens is None or max_tokens < 0 else max_tokens,
        temperature=options["temperature"],
        top_p=options["top_p"],
        seed=options.get("seed"),
        repeat_penalty=options["repeat_penalty"],
        repeat_last_n=options["repeat_last_n"],
        top_k=options["top_k"],
        stop=options.get("stop") or None,
        json_schema=schema,
        json_object=json_object,
        logprobs=body.get("logprobs") is True or top_logprobs > 0,
        top_logprobs=top_logprobs,
    )


def openai_to_ollama(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions request as the Ollama /api/chat request it means."""
    options: dict[str, Any] = {}
    for ours, theirs in (("num_predict", "max_completion_tokens"), ("num_predict", "max_tokens"),
                         ("temperature", "temperature"), ("top_p", "top_p"), ("seed", "seed"), ("stop", "stop"),
                         ("presence_penalty", "presence_penalty"), ("frequency_penalty", "frequency_penalty")):
        if body.get(theirs) is not None and ours not in options:
            options[ours] = body[theirs]
    if body.get("n") not in (None, 1):
        raise BadRequest("field 'n': only n=1 is supported by the embedded endpoint")
    fmt: Any = None
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind == "json_object":
            fmt = "json"
        elif kind == "json_schema":
            fmt = (response_format.get("json_schema") or {}).get("schema")
            if not isinstance(fmt, dict):
                raise BadRequest("response_format.json_schema.schema: must be a JSON schema object")
        elif kind not in (None, "text"):
            raise BadRequest(f"response_format.type: {kind!r} is not text, json_object or json_schema")
    elif response_format is not None:
        raise BadRequest("field 'response_format': must be an object")
    out = {"model": body.get("model"), "messages": body.get("messages"), "options": options, "format": fmt,
           "tools": body.get("tools"), "stream": body.get("stream") is True}
    for key in ("logprobs", "top_logprobs"):  # OpenAI's names are Ollama's
        if body.get(key) is not None:
            out[key] = body[key]
    return out



def model_entry(m: ServedModel) -> dict[str, Any]:
    details = {
        "parent_model": "",
        "format": "gguf",
        "family": m.family,
        "families": [m.family],
        "parameter_size": m.parameter_size,
        "quantization_level": m.quantization,
    }
    return {
        "name": m.tag,
        "model": m.tag,
        "modified_at": iso_now(),
        "size": m.size,
        "digest": m.digest,
        "details": details,
    }



def engine_failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, SchemaError):
        return 400, f"invalid JSON schema in format: {exc}"
    if isinstance(exc, ContextOverflowError):
        return 400, f"prompt exceeds the context window: {exc}"
    return 500, f"inference failed: {exc}"


def timing_fields(result: EngineResult, started: float) -> dict[str, Any]:
    return {
        "total_duration": int((time.perf_counter() - started) * 1e9),
        "load_duration": 0,
        "prompt_eval_count": result.prompt_tokens,
        "prompt_eval_duration": int(result.prompt_ms * 1e6),
        "eval_count": result.output_tokens,
        "eval_duration": int(result.eval_ms * 1e6),
    }


def done_reason(result: EngineResult) -> str:
    return "length" if result.done_reason == "length" else "stop"


def final_payload(shape: str, model: ServedModel, result: EngineResult, started: float) -> dict[str, Any]:
    """The whole reply of a non-streamed request, in the route's shape."""
    if shape == "openai":
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": model.tag, "system_fingerprint": "fp_debatelab",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text},
                         "finish_reason": done_reason(result),
                         # OpenAI's shape: {"content": [{token, logprob, bytes, top_logprobs}, ...]}
                         "logprobs": {"content": result.logprobs} if result.logprobs is not None else None}],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.output_tokens,
                      "total_tokens": result.prompt_tokens + result.output_tokens},
        }
    payload: dict[str, Any] = {"model": model.tag, "created_at": iso_now()}
    if shape == "generate":
        payload["response"] = result.text
    else:
        payload["message"] = {"role": "assistant", "content": result.text}
    payload.update(done=True, done_reason=done_reason(result), **timing_fields(result, started))
    if result.logprobs is not None:
        payload["logprobs"] = result.logprobs
    return payload



def loaded_entry(m: ServedModel) -> dict[str, Any]:
    entry = model_entry(m)
    return {**entry, "expires_at": "2318-08-22T00:00:00Z", "size_vram": 0}


