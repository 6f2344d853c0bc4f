"""An HTTP server that speaks the Ollama API over local engines.

Implements what ChatOllama and the `ollama` client use: `POST /api/chat` (NDJSON streaming and
`stream: false`, `options`, `format` as "json" or a JSON schema), `GET /api/tags`,
`POST /api/show`, `GET /api/version`, `GET /`. Errors have Ollama's shape `{"error": ...}`.
It binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
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


class BadRequest(ValueError):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


MAX_TOP_LOGPROBS = 20  # Ollama's limit


def _engine_request(body: dict[str, Any]) -> EngineRequest:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest("messages must be a list")
    clean: list[dict[str, str]] = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest("each message needs a role and content")
        clean.append({"role": m["role"], "content": str(m.get("content") or "")})
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("options must be an object")
    options = {**OLLAMA_DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    fmt = body.get("format")
    schema: dict[str, Any] | None = None
    json_object = False
    if fmt == "json":
        json_object = True
    elif isinstance(fmt, dict):
        schema = fmt
    elif fmt not in (None, ""):
        raise BadRequest(f"invalid format {fmt!r}: use \"json\" or a JSON schema object")
    stop = options.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    top_logprobs = body.get("top_logprobs") or 0
    if not isinstance(top_logprobs, int) or isinstance(top_logprobs, bool) or not 0 <= top_logprobs <= MAX_TOP_LOGPROBS:
        raise BadRequest(f"top_logprobs must be an integer from 0 to {MAX_TOP_LOGPROBS}")
    try:
        max_tokens = options.get("num_predict")
        max_tokens = None if max_tokens is None or int(max_tokens) < 0 else int(max_tokens)
        return EngineRequest(
            messages=clean,
            max_tokens=max_tokens,
            temperature=float(options["temperature"]),
            top_p=float(options["top_p"]),
            seed=None if options.get("seed") is None else int(options["seed"]),
            repeat_penalty=float(options["repeat_penalty"]),
            repeat_last_n=int(options["repeat_last_n"]),
            top_k=int(options["top_k"]),
            stop=stop or None,
            json_schema=schema,
            json_object=json_object,
            logprobs=body.get("logprobs") is True or top_logprobs > 0,
            top_logprobs=top_logprobs,
        )
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"invalid option value: {exc}") from None


class RequestLog:
    """Appends one JSON line per chat request; later tools count model calls with it."""

    def __init__(self, path: Path | None):
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

    def __init__(self, address: tuple[str, int], models: dict[str, ServedModel], request_log: Path | None):
        self.models = models
        self.request_log = RequestLog(request_log)
        super().__init__(address, _Handler)


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


class _Handler(BaseHTTPRequestHandler):
    server: OllamaCompatibleServer
    protocol_version = "HTTP/1.1"
    server_version = "debatelab-embedded"

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
        self._send_json(status, {"error": message})

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise BadRequest(f"invalid JSON body: {exc.msg}") from None
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        return body

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
            self._send_json(200, {"models": []})
        else:
            self._error(404, f"path {self.path} not found")

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = self._read_json()
            if self.path == "/api/chat":
                self._chat(body)
            elif self.path == "/api/show":
                self._show(body)
            else:
                self._error(404, f"path {self.path} not found")
        except BadRequest as exc:
            self._error(400, str(exc))

    def _lookup(self, body: dict[str, Any]) -> ServedModel | None:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest("model is required")
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

    def _chat(self, body: dict[str, Any]) -> None:
        started = time.perf_counter()
        model = self._lookup(body)
        record: dict[str, Any] = {
            "time": _now(),
            "model": body.get("model"),
            "messages_sha256": hashlib.sha256(
                json.dumps(body.get("messages"), sort_keys=True).encode()
            ).hexdigest(),
        }
        if model is None:
            self.server.request_log.write({**record, "status": 404, "prompt_tokens": 0,
                                           "output_tokens": 0, "duration_s": 0.0})
            return
        if body.get("think") is True:
            self._error(400, f"\"{model.tag}\" does not support thinking")
            return
        req = _engine_request(body)
        stream = body.get("stream", True) is not False
        status = 200
        result: EngineResult | None = None
        try:
            if stream:
                result = self._chat_stream(model, req, started)
            else:
                result = model.engine().chat(req)
                final = self._final(model, result, started, content=result.text)
                if result.logprobs is not None:
                    final["logprobs"] = result.logprobs
                self._send_json(200, final)
        except SchemaError as exc:
            status = 400
            self._error(400, f"invalid JSON schema in format: {exc}")
        except ContextOverflowError as exc:
            status = 400
            self._error(400, f"prompt exceeds the context window: {exc}")
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away (killed); the call still ran to the end
        except Exception as exc:  # noqa: BLE001 - engine failures become Ollama-shaped 500s
            status = 500
            try:
                self._error(500, f"inference failed: {exc}")
            except OSError:
                pass
        self.server.request_log.write(
            {
                **record,
                "status": status,
                "stream": stream,
                "prompt_tokens": result.prompt_tokens if result else 0,
                "output_tokens": result.output_tokens if result else 0,
                "done_reason": result.done_reason if result else None,
                "duration_s": round(time.perf_counter() - started, 4),
                "end_time": _now(),
            }
        )

    def _final(self, model: ServedModel, result: EngineResult, started: float, content: str) -> dict[str, Any]:
        total_ns = int((time.perf_counter() - started) * 1e9)
        return {
            "model": model.tag,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "length" if result.done_reason == "length" else "stop",
            "total_duration": total_ns,
            "load_duration": 0,
            "prompt_eval_count": result.prompt_tokens,
            "prompt_eval_duration": int(result.prompt_ms * 1e6),
            "eval_count": result.output_tokens,
            "eval_duration": int(result.eval_ms * 1e6),
        }

    def _chat_stream(self, model: ServedModel, req: EngineRequest, started: float) -> EngineResult:
        engine = model.engine()
        headers_sent = False

        def write_chunk(obj: dict[str, Any]) -> None:
            nonlocal headers_sent
            if not headers_sent:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                headers_sent = True
            data = (json.dumps(obj) + "\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def on_delta(piece: str, logprobs: list[dict[str, Any]] | None) -> None:
            chunk: dict[str, Any] = {"model": model.tag, "created_at": _now(),
                                     "message": {"role": "assistant", "content": piece}, "done": False}
            if logprobs:
                chunk["logprobs"] = logprobs
            write_chunk(chunk)

        result = engine.chat(req, on_delta)
        write_chunk(self._final(model, result, started, content=""))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return result


def make_server(
    models: dict[str, ServedModel], *, host: str = "127.0.0.1", port: int = 11434,
    request_log: Path | None = None,
) -> OllamaCompatibleServer:
    """Bind the server (raises OSError if the port is taken); call `serve_forever()` to run."""
    return OllamaCompatibleServer((host, port), models, request_log)
