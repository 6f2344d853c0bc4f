"""An HTTP server that speaks the Ollama API over local engines.

Implements what ChatOllama, the `ollama` client and OpenAI-client tools use: `POST /api/chat` and
`POST /api/generate` (NDJSON streaming and `stream: false`, `options`, `format` as "json" or a
JSON schema), `GET /api/tags`, `POST /api/show`, `GET /api/ps`, `GET /api/version`, `GET /`, and
Ollama's OpenAI-compatible `POST /v1/chat/completions` (plain and SSE-streamed) and
`GET /v1/models`. Requests are validated as Ollama does (`validation.py`): a bad one is a 400
naming the field, an oversized body a 413. Errors have Ollama's shape `{"error": ...}` (OpenAI's
on /v1). A client that disconnects has its generation cancelled at the next token. It binds to
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hashlib
import json
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    content_length,
    refuse_unsupported,
    validate_options,
)
from debatelab.agents.host_pool import AFFINITY_HEADER, AFFINITY_LAST_HEADER

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
    _engine: ChatEngine | None = None

    def engine(self) -> ChatEngine:
        if self._engine is None:
            self._engine = self.make_engine()
        return self._engine

    @property
    def loaded(self) -> bool:
        """Whether the engine was built (what /api/ps lists)."""
        return self._engine is not None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


MAX_TOP_LOGPROBS = 20  # Ollama's limit


def _messages(raw: Any) -> list[dict[str, str]]:
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


def _format(fmt: Any) -> tuple[dict[str, Any] | None, bool]:
    """(JSON schema, plain-JSON flag) from Ollama's `format`."""
    if fmt == "json":
        return None, True
    if isinstance(fmt, dict):
        check_schema_bounds(fmt)
        return fmt, False
    if fmt in (None, ""):
        return None, False
    raise BadRequest(f"field 'format': invalid {fmt!r}: use \"json\" or a JSON schema object")


def _engine_request(body: dict[str, Any], messages: list[dict[str, str]] | None = None) -> EngineRequest:
    refuse_unsupported(body)
    clean = messages if messages is not None else _messages(body.get("messages"))
    options = {**OLLAMA_DEFAULT_OPTIONS, **validate_options(body.get("options"))}
    schema, json_object = _format(body.get("format"))
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


def _openai_to_ollama(body: dict[str, Any]) -> dict[str, Any]:
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


class RequestLog:
    """Appends one JSON line per chat request; later tools count model calls with it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()


class OllamaCompatibleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    # socketserver's default backlog is 5: a burst of concurrent clients (a runner with many
    # debates in flight) would see connections reset. Ollama queues up to 512 requests.
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], models: dict[str, ServedModel], request_log: Path | None) -> None:
        self.models = models
        self.request_log = RequestLog(request_log)
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke mid-request (a client killed, a malformed request line) is
        the client's business: no traceback on the server's stderr."""
        return


def _model_entry(m: ServedModel) -> dict[str, Any]:
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
        "modified_at": _now(),
        "size": m.size,
        "digest": m.digest,
        "details": details,
    }


class ClientGone(Exception):
    """The client closed its connection; its generation was cancelled."""


class _Handler(BaseHTTPRequestHandler):
    server: OllamaCompatibleServer
    protocol_version = "HTTP/1.1"
    server_version = "debatelab-embedded"
    timeout = 300  # a client that stalls mid-request (or idles on a kept-alive connection) is let go

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # requests are logged to --request-log, not to stderr

    # -- plumbing -----------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        if self.path.startswith("/v1/"):  # OpenAI clients read OpenAI's error shape
            kind = "invalid_request_error" if status < 500 else "server_error"
            self._send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})
        else:
            self._send_json(status, {"error": message})

    def _read_json(self) -> dict[str, Any]:
        length = content_length(self.headers.get("Content-Length"))
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            raise BadRequest(f"request body ended after {len(raw)} of {length} bytes (Content-Length)")
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise BadRequest(f"invalid JSON body: {exc.msg}") from None
        except (RecursionError, UnicodeDecodeError):
            raise BadRequest("invalid JSON body: nested too deeply or not UTF-8") from None
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        return body

    def _client_gone(self) -> bool:
        """True once the client has closed its connection (it sent nothing more and hung up)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _canceller(self) -> Any:
        """A delta callback for non-streamed replies: checks the connection a few times a second
        and stops the generation (returns True) when the client has gone."""
        last = [0.0]

        def on_delta(piece: str, logprobs: list[dict[str, Any]] | None) -> bool:
            now = time.monotonic()
            if now - last[0] < 0.2:
                return False
            last[0] = now
            return self._client_gone()

        return on_delta

    # -- routes -------------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/":
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path == "/api/version":
            self._send_json(200, {"version": API_VERSION})
        elif self.path == "/api/tags":
            self._send_json(200, {"models": [_model_entry(m) for m in self.server.models.values()]})
        elif self.path == "/api/ps":
            self._send_json(200, {"models": [_loaded_entry(m) for m in self.server.models.values() if m.loaded]})
        elif self.path == "/v1/models":
            created = int(time.time())
            self._send_json(200, {"object": "list", "data": [
                {"id": m.tag, "object": "model", "created": created, "owned_by": "library"}
                for m in self.server.models.values()]})
        else:
            self._error(404, f"path {self.path} not found")

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = self._read_json()
            if self.path == "/api/chat":
                self._chat(body)
            elif self.path == "/api/generate":
                self._generate(body)
            elif self.path == "/v1/chat/completions":
                self._openai_chat(body)
            elif self.path == "/api/show":
                self._show(body)
            else:
                self._error(404, f"path {self.path} not found")
        except BadRequest as exc:
            self.close_connection = True  # an unread or oversized body must not be parsed as a request
            self._error(exc.status, str(exc))

    def do_PUT(self) -> None:  # noqa: N802
        self._error(405, f"method PUT not allowed on {self.path}")

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _lookup(self, body: dict[str, Any]) -> ServedModel | None:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest("field 'model': required")
        model = self.server.models.get(name) or self.server.models.get(
            name if ":" in name else f"{name}:latest"
        )
        if model is None:
            self._error(404, f"model '{name}' not found")
        return model

    def _show(self, body: dict[str, Any]) -> None:
        model = self._lookup(body)
        if model is None:
            return
        entry = _model_entry(model)
        self._send_json(
            200,
            {
                "modelfile": f"# served by debatelab's embedded endpoint\nFROM {model.tag}\n",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": entry["details"],
                "model_info": {"general.architecture": model.family},
                "capabilities": ["completion"],
                "modified_at": entry["modified_at"],
            },
        )

    # -- generation -------------------------------------------------------------------------
    def _generate(self, body: dict[str, Any]) -> None:
        """Ollama's /api/generate: a prompt (and an optional system prompt) instead of messages."""
        prompt, system = body.get("prompt", ""), body.get("system")
        if not isinstance(prompt, str):
            raise BadRequest("field 'prompt': must be text")
        if system is not None and not isinstance(system, str):
            raise BadRequest("field 'system': must be text")
        if not prompt:
            model = self._lookup(body)
            if model is not None:  # Ollama answers an empty prompt by loading the model
                model.engine()
                self._send_json(200, {"model": model.tag, "created_at": _now(), "response": "", "done": True,
                                      "done_reason": "load"})
            return
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        self._run(body, messages, shape="generate")

    def _chat(self, body: dict[str, Any]) -> None:
        self._run(body, None, shape="chat")

    def _openai_chat(self, body: dict[str, Any]) -> None:
        self._run(_openai_to_ollama(body), None, shape="openai")

    def _run(self, body: dict[str, Any], messages: list[dict[str, str]] | None, *, shape: str) -> None:
        started = time.perf_counter()
        model = self._lookup(body)
        record: dict[str, Any] = {
            "time": _now(),
            "route": shape,
            "model": body.get("model"),
            "structured": body.get("format") is not None,  # judges and verdicts ask for a JSON schema
            "messages_sha256": hashlib.sha256(
                json.dumps(messages if messages is not None else body.get("messages"), sort_keys=True).encode()
            ).hexdigest(),
            # The whole request (model, options such as the seed, format): a debate's repeats send the
            # same messages with different seeds, and only this tells them apart.
            "request_sha256": hashlib.sha256(json.dumps(
                {k: v for k, v in body.items() if k not in ("stream", "keep_alive")}, sort_keys=True, default=str,
            ).encode()).hexdigest(),
        }
        if model is None:
            self.server.request_log.write({**record, "status": 404, "prompt_tokens": 0,
                                           "output_tokens": 0, "duration_s": 0.0})
            return
        if body.get("think") is True:
            raise BadRequest(f"\"{model.tag}\" does not support thinking")
        req = _engine_request(body, messages)
        req.affinity = self.headers.get(AFFINITY_HEADER) or None
        req.affinity_last = self.headers.get(AFFINITY_LAST_HEADER) == "1"
        stream = body.get("stream", shape != "openai") is not False
        status = 200
        result: EngineResult | None = None
        writer = _StreamWriter(self, model, shape, started) if stream else None
        try:
            if writer is not None:
                result = model.engine().chat(req, writer.delta)
                if result.done_reason == "cancelled":
                    raise ClientGone
                writer.finish(result)
            else:
                result = model.engine().chat(req, self._canceller())
                if result.done_reason == "cancelled":
                    raise ClientGone
                self._send_json(200, _final_payload(shape, model, result, started))
        except (ClientGone, BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away; its generation was stopped
            self.close_connection = True
        except (SchemaError, ContextOverflowError, Exception) as exc:  # noqa: BLE001 - engine failures
            status, message = _engine_failure(exc)
            self.close_connection = True
            try:
                if writer is not None and writer.started:
                    writer.fail(message)  # headers are out: end the stream with an error chunk
                else:
                    self._error(status, message)
            except OSError:
                pass
        self.server.request_log.write(
            {
                **record,
                "status": status,
                "stream": stream,
                "prompt_tokens": result.prompt_tokens if result else 0,
                "cached_tokens": result.cached_tokens if result else 0,
                "output_tokens": result.output_tokens if result else 0,
                # the engine's own times (llama.cpp's timings) and where it ran: what a bench needs to
                # compute the engine's rates and the run's floor from this log alone
                "prompt_ms": round(result.prompt_ms, 1) if result else 0.0,
                "eval_ms": round(result.eval_ms, 1) if result else 0.0,
                "affinity": req.affinity,
                "slot": result.slot if result else None,
                "done_reason": result.done_reason if result else None,
                "duration_s": round(time.perf_counter() - started, 4),
                "end_time": _now(),
            }
        )


def _engine_failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, SchemaError):
        return 400, f"invalid JSON schema in format: {exc}"
    if isinstance(exc, ContextOverflowError):
        return 400, f"prompt exceeds the context window: {exc}"
    return 500, f"inference failed: {exc}"


def _timing_fields(result: EngineResult, started: float) -> dict[str, Any]:
    return {
        "total_duration": int((time.perf_counter() - started) * 1e9),
        "load_duration": 0,
        "prompt_eval_count": result.prompt_tokens,
        "prompt_eval_duration": int(result.prompt_ms * 1e6),
        "eval_count": result.output_tokens,
        "eval_duration": int(result.eval_ms * 1e6),
    }


def _done_reason(result: EngineResult) -> str:
    return "length" if result.done_reason == "length" else "stop"


def _final_payload(shape: str, model: ServedModel, result: EngineResult, started: float) -> dict[str, Any]:
    """The whole reply of a non-streamed request, in the route's shape."""
    if shape == "openai":
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": model.tag, "system_fingerprint": "fp_debatelab",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text},
                         "finish_reason": _done_reason(result),
                         # OpenAI's shape: {"content": [{token, logprob, bytes, top_logprobs}, ...]}
                         "logprobs": {"content": result.logprobs} if result.logprobs is not None else None}],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.output_tokens,
                      "total_tokens": result.prompt_tokens + result.output_tokens},
        }
    payload: dict[str, Any] = {"model": model.tag, "created_at": _now()}
    if shape == "generate":
        payload["response"] = result.text
    else:
        payload["message"] = {"role": "assistant", "content": result.text}
    payload.update(done=True, done_reason=_done_reason(result), **_timing_fields(result, started))
    if result.logprobs is not None:
        payload["logprobs"] = result.logprobs
    return payload


class _StreamWriter:
    """Writes a streamed reply: Ollama's NDJSON chunks, or OpenAI's server-sent events.

    Once the 200 and the first chunk are out, a failure can no longer change the status: it ends
    the stream with an error chunk (as Ollama does) instead of writing a second HTTP response.
    """

    def __init__(self, handler: _Handler, model: ServedModel, shape: str, started: float) -> None:
        self.h, self.model, self.shape, self.started_at = handler, model, shape, started
        self.started = False
        self.chat_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"

    def _write(self, obj: dict[str, Any] | str) -> None:
        if not self.started:
            self.h.send_response(200)
            kind = "text/event-stream" if self.shape == "openai" else "application/x-ndjson"
            self.h.send_header("Content-Type", kind)
            self.h.send_header("Transfer-Encoding", "chunked")
            self.h.end_headers()
            self.started = True
        if self.shape == "openai":
            data = f"data: {obj if isinstance(obj, str) else json.dumps(obj)}\n\n".encode()
        else:
            data = (json.dumps(obj) + "\n").encode()
        self.h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.h.wfile.flush()

    def _end(self) -> None:
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()

    def _openai_chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": self.chat_id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": self.model.tag, "system_fingerprint": "fp_debatelab",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def delta(self, piece: str, logprobs: list[dict[str, Any]] | None) -> bool:
        """Send one piece; a broken pipe stops the generation (returns True)."""
        try:
            if self.shape == "openai":
                self._write(self._openai_chunk({"role": "assistant", "content": piece}, None))
            else:
                chunk: dict[str, Any] = {"model": self.model.tag, "created_at": _now(), "done": False}
                if self.shape == "generate":
                    chunk["response"] = piece
                else:
                    chunk["message"] = {"role": "assistant", "content": piece}
                if logprobs:
                    chunk["logprobs"] = logprobs
                self._write(chunk)
        except OSError:
            return True
        return False

    def finish(self, result: EngineResult) -> None:
        if self.shape == "openai":
            self._write(self._openai_chunk({}, _done_reason(result)))
            self._write("[DONE]")
        else:
            final = _final_payload(self.shape, self.model, result, self.started_at)
            final.pop("logprobs", None)  # already sent with each chunk
            if self.shape == "chat":
                final["message"]["content"] = ""
            else:
                final["response"] = ""
            self._write(final)
        self._end()

    def fail(self, message: str) -> None:
        self._write({"error": {"message": message, "type": "server_error"}} if self.shape == "openai"
                    else {"error": message})
        self._end()


def _loaded_entry(m: ServedModel) -> dict[str, Any]:
    entry = _model_entry(m)
    return {**entry, "expires_at": "2318-08-22T00:00:00Z", "size_vram": 0}


def make_server(
    models: dict[str, ServedModel], *, host: str = "127.0.0.1", port: int = 11434,
    request_log: Path | None = None,
) -> OllamaCompatibleServer:
    """Bind the server (raises OSError if the port is taken); call `serve_forever()` to run."""
    return OllamaCompatibleServer((host, port), models, request_log)
