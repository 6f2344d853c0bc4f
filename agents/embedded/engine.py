"""Inference engines behind the embedded endpoint.

`LlamaEngine` runs a GGUF model in-process with llama.cpp (xllamacpp) in K parallel slots.
`SimulatedEngine` answers after a fixed latency per token with K slots; the benchmarks put it
behind the very same HTTP server to measure scheduling without model noise.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from debatelab.agents.embedded.grammar import llguidance_grammar
from debatelab.agents.embedded.slots import SlotAffinity


class SchemaError(ValueError):
    """The request's `format` JSON schema cannot be turned into a grammar."""


class ContextOverflowError(ValueError):
    """The prompt does not fit the slot's context window."""


@dataclass
class EngineRequest:
    messages: list[dict[str, str]]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    repeat_penalty: float | None = None
    repeat_last_n: int | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    logprobs: bool = False
    top_logprobs: int = 0
    affinity: str | None = None  # what the request belongs to (a debate, a judgment): kept on one slot
    affinity_last: bool = False  # the key's last call: its slot is free for others once it is answered


@dataclass
class EngineResult:
    text: str
    done_reason: str
    prompt_tokens: int
    output_tokens: int
    prompt_ms: float = 0.0
    eval_ms: float = 0.0
    cached_tokens: int = 0  # prompt tokens llama.cpp reused from the slot's cache (timings.cache_n)
    slot: int | None = None  # the llama.cpp slot that served it
    extra: dict[str, Any] = field(default_factory=dict)
    logprobs: list[dict[str, Any]] | None = None  # Ollama's shape, one entry per output token


# Called with each piece of text as it is generated, and that piece's logprobs when asked for.
# Returning True stops the generation (the client went away); the result is then "cancelled".
DeltaCallback = Callable[[str, list[dict[str, Any]] | None], bool | None]


def ollama_logprobs(openai_logprobs: Any) -> list[dict[str, Any]] | None:
    """llama.cpp's OpenAI-style `choice.logprobs` turned into Ollama's `logprobs` list:
    [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]."""
    if not isinstance(openai_logprobs, dict) or not isinstance(openai_logprobs.get("content"), list):
        return None

    def entry(t: dict[str, Any]) -> dict[str, Any]:
        return {"token": t.get("token", ""), "logprob": float(t.get("logprob", 0.0)), "bytes": t.get("bytes")}

    return [{**entry(t), "top_logprobs": [entry(alt) for alt in t.get("top_logprobs") or []]}
            for t in openai_logprobs["content"]]


class ChatEngine(Protocol):
    parallel: int

    def chat(self, request: EngineRequest, on_delta: DeltaCallback | None = None) -> EngineResult: ...

    def context_per_slot(self) -> int: ...

    def load(self) -> None: ...


def openai_request(req: EngineRequest) -> dict[str, Any]:
    """llama.cpp's request body. A JSON schema that carries llguidance's options (`x-guidance`, e.g.
    the compact JSON judge prompt version 3 asks for) goes to llguidance with them (grammar.py says
    why); any other schema, or one llguidance cannot take, goes as `response_format`."""
    body: dict[str, Any] = {"messages": req.messages}
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    for name in ("temperature", "top_p", "seed", "repeat_penalty", "repeat_last_n", "top_k"):
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    if req.stop:
        body["stop"] = req.stop
    grammar = llguidance_grammar(req.json_schema) if req.json_schema is not None else None
    if grammar is not None:
        body["grammar"] = grammar
    elif req.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": req.json_schema, "strict": True},
        }
    elif req.json_object:
        body["response_format"] = {"type": "json_object"}
    if req.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = req.top_logprobs
    return body


class LlamaEngine:
    """A GGUF model served by llama.cpp through xllamacpp, loaded on first use."""

    def __init__(self, path: Path, *, n_ctx_per_slot: int = 4096, parallel: int = 2, threads: int = 2,
                 slot_affinity: bool = True) -> None:
        self.path = path
        self.slot_affinity = SlotAffinity(parallel) if slot_affinity else None
        self.parallel = parallel
        self._n_ctx_per_slot = n_ctx_per_slot
        self._threads = threads
        self._server: Any = None
        self._lock = threading.Lock()

    def context_per_slot(self) -> int:
        return self._n_ctx_per_slot

    def load(self) -> None:
        """Load the model now (a server loads before it answers, so its first request is not slow)."""
        self._ensure_loaded()

    def _ensure_loaded(self) -> Any:
        with self._lock:
            if self._server is None:
                import xllamacpp

                params = xllamacpp.CommonParams()
                params.model.path = str(self.path)
                params.n_ctx = self._n_ctx_per_slot * self.parallel
                params.n_parallel = self.parallel
                params.cpuparams.n_threads = self._threads
                params.verbosity = -1  # llama.cpp logs every slot event; keep the terminal clean
                self._server = xllamacpp.Server(params)
            return self._server

    def chat(self, request: EngineRequest, on_delta: DeltaCallback | None = None) -> EngineResult:
        server = self._ensure_loaded()
        body = openai_request(request)
        if self.slot_affinity is None:
            return self._chat(server, body, request, on_delta)
        slot = self.slot_affinity.acquire(request.affinity)
        body["id_slot"] = slot  # llama.cpp serves it on that slot (waiting for it if it is busy)
        try:
            result = self._chat(server, body, request, on_delta)
        finally:
            self.slot_affinity.release(slot, request.affinity, last=request.affinity_last)
        result.slot = slot
        return result

    def _chat(self, server: Any, body: dict[str, Any], request: EngineRequest,
              on_delta: DeltaCallback | None) -> EngineResult:
        try:
            if on_delta is None:
                out = server.handle_chat_completions(body)
                return self._result(out)
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            state: dict[str, Any] = {"text": [], "finish": "stop", "timings": {}, "usage": {}, "logprobs": []}

            def on_chunk(chunk: dict[str, Any]) -> bool:
                """Returning True makes llama.cpp stop this generation and free its slot."""
                if chunk.get("usage"):
                    state["usage"] = chunk["usage"]
                if chunk.get("timings"):
                    state["timings"] = chunk["timings"]
                for choice in chunk.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    entries = ollama_logprobs(choice.get("logprobs")) if request.logprobs else None
                    if entries:
                        state["logprobs"].extend(entries)
                    if piece:
                        state["text"].append(piece)
                        if on_delta(piece, entries):
                            state["finish"] = "cancelled"
                            return True
                    if choice.get("finish_reason") and state["finish"] != "cancelled":
                        state["finish"] = choice["finish_reason"]
                return False

            err = server.handle_chat_completions(body, on_chunk)
            if isinstance(err, dict) and err.get("error"):
                raise ValueError(str(err["error"]))
            timings = state["timings"]
            usage = state["usage"]
            return EngineResult(
                text="".join(state["text"]),
                done_reason=state["finish"],
                prompt_tokens=int(usage.get("prompt_tokens") or timings.get("prompt_n", 0)),
                # A cancelled generation sends no final usage: count the pieces it streamed (one per token).
                output_tokens=max(int(usage.get("completion_tokens") or timings.get("predicted_n", 0)),
                                  len(state["text"])),
                prompt_ms=float(timings.get("prompt_ms", 0.0)),
                eval_ms=float(timings.get("predicted_ms", 0.0)),
                cached_tokens=int(timings.get("cache_n", 0) or 0),
                logprobs=state["logprobs"] if request.logprobs else None,
            )
        except ValueError as exc:
            raise _classify(exc) from None

    @staticmethod
    def _result(out: dict[str, Any]) -> EngineResult:
        if out.get("error"):
            raise _classify(ValueError(str(out["error"].get("message", out["error"]))))
        choice = out["choices"][0]
        timings = out.get("timings", {})
        return EngineResult(
            text=choice["message"].get("content") or "",
            done_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(out["usage"]["prompt_tokens"]),
            output_tokens=int(out["usage"]["completion_tokens"]),
            prompt_ms=float(timings.get("prompt_ms", 0.0)),
            eval_ms=float(timings.get("predicted_ms", 0.0)),
            cached_tokens=int(timings.get("cache_n", 0) or 0),
            logprobs=ollama_logprobs(choice.get("logprobs")),
        )


def _classify(exc: Exception) -> Exception:
    text = str(exc)
    low = text.lower()
    if "schema" in low or "grammar" in low:
        return SchemaError(text)
    if "context" in low and ("exceed" in low or "size" in low):
        return ContextOverflowError(text)
    return exc


def example_from_schema(schema: dict[str, Any], text: str) -> Any:
    """A small valid instance of a JSON schema (objects, strings, numbers, enums), so structured
    calls against the simulated engine parse like real ones."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return example_from_schema(schema["anyOf"][0], text)
    kind = schema.get("type")
    if kind == "object":
        return {k: example_from_schema(v, text) for k, v in schema.get("properties", {}).items()}
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    return text[: schema.get("maxLength", len(text))]


class SimulatedEngine:
    """Answers `tokens` words after `latency_per_token_s` each, at most `parallel` at a time.

    It stands in for a model whose speed is known exactly, so benchmarks can tell scheduling
    overhead from model time.
    """

    def __init__(self, *, latency_per_token_s: float = 0.01, parallel: int = 1, tokens: int = 20) -> None:
        self.parallel = parallel
        self.latency = latency_per_token_s
        self.tokens = tokens
        self._slots = threading.Semaphore(parallel)

    def context_per_slot(self) -> int:
        return 1 << 20

    def load(self) -> None:
        """Nothing to load: the simulated engine has no model."""

    def chat(self, request: EngineRequest, on_delta: DeltaCallback | None = None) -> EngineResult:
        n = min(self.tokens, request.max_tokens or self.tokens)
        prompt_tokens = sum(len(m.get("content", "").split()) for m in request.messages)
        with self._slots:
            start = time.perf_counter()
            words = []
            cancelled = False
            for i in range(n):
                time.sleep(self.latency)
                # A seeded request answers words of its seed, as a real model's sampling would
                # differ: a debate's repeats (same prompts, shifted seeds) stay different debates.
                word = f"w{i}" if request.seed is None else f"w{i}s{request.seed}"
                words.append(word)
                if on_delta and on_delta(word + " ", None):
                    cancelled = True
                    break
            elapsed = (time.perf_counter() - start) * 1000
        text = " ".join(words)
        if request.json_schema is not None:
            text = json.dumps(example_from_schema(request.json_schema, text))
        elif request.json_object:
            text = json.dumps({"text": text})
        reason = "length" if request.max_tokens is not None and request.max_tokens <= n else "stop"
        return EngineResult(text, "cancelled" if cancelled else reason, prompt_tokens, len(words), 0.0, elapsed)
