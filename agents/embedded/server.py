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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from debatelab.agents.call_affinity import AFFINITY_HEADER, AFFINITY_LAST_HEADER
from debatelab.agents.embedded.engine import (
    ContextOverflowError,
    EngineResult,
    SchemaError,
)
from debatelab.agents.embedded.streaming import StreamWriter
from debatelab.agents.embedded.translation import (
    API_VERSION,
    ServedModel,
    engine_failure,
    engine_request,
    final_payload,
    iso_now,
    loaded_entry,
    model_entry,
    openai_to_ollama,
)
from debatelab.agents.embedded.validation import (
    BadRequest,
    content_length,
)


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
            self._send_json(200, {"models": [model_entry(m) for m in self.server.models.values()]})
        elif self.path == "/api/ps":
            self._send_json(200, {"models": [loaded_entry(m) for m in self.server.models.values() if m.loaded]})
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
        entry = model_entry(model)
        self._send_json(
            200,
            {
                "modelfile": f"# served by debatelab's embedded endpoint\nFROM {model.tag}\n",
                "parameters": f"num_ctx {model.context}" if model.context else "",
                "template": "{{ .Prompt }}",
                "details": entry["details"],
                "model_info": {"general.architecture": model.family,
                               **({f"{model.family}.context_length": model.context} if model.context else {})},
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
                self._send_json(200, {"model": model.tag, "created_at": iso_now(), "response": "", "done": True,
                                      "done_reason": "load"})
            return
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        self._run(body, messages, shape="generate")

    def _chat(self, body: dict[str, Any]) -> None:
        self._run(body, None, shape="chat")

    def _openai_chat(self, body: dict[str, Any]) -> None:
        self._run(openai_to_ollama(body), None, shape="openai")

    def _run(self, body: dict[str, Any], messages: list[dict[str, str]] | None, *, shape: str) -> None:
        started = time.perf_counter()
        model = self._lookup(body)
        record: dict[str, Any] = {
            "time": iso_now(),
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
        req = engine_request(body, messages)
        req.affinity = self.headers.get(AFFINITY_HEADER) or None
        req.affinity_last = self.headers.get(AFFINITY_LAST_HEADER) == "1"
        stream = body.get("stream", shape != "openai") is not False
        status = 200
        result: EngineResult | None = None
        writer = StreamWriter(self, model, shape, started) if stream else None
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
                self._send_json(200, final_payload(shape, model, result, started))
        except (ClientGone, BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away; its generation was stopped
            self.close_connection = True
        except (SchemaError, ContextOverflowError, Exception) as exc:  # noqa: BLE001 - engine failures
            status, message = engine_failure(exc)
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
                "end_time": iso_now(),
            }
        )


def make_server(
    models: dict[str, ServedModel], *, host: str = "127.0.0.1", port: int = 11434,
    request_log: Path | None = None,
) -> OllamaCompatibleServer:
    """Bind the server (raises OSError if the port is taken); call `serve_forever()` to run."""
    return OllamaCompatibleServer((host, port), models, request_log)
