"""Small HTTP hosts for tests: one that answers every request with a fixed status, one that accepts
connections and never answers (the hardest failure for a client to notice), and a scripted
OpenAI-compatible server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free local port in a thread; yields the base URL, stops on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def status_host(status: int, body: bytes = b'{"error": "scripted failure"}') -> Iterator[str]:
    """A host answering every request (the liveness probe too) with `status`; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args: object) -> None:
            return

    with _serving(Handler) as url:
        yield url


@contextmanager
def silent_host() -> Iterator[str]:
    """A host that accepts every connection and never sends a byte; yields its URL."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


@contextmanager
def openai_host(reply: Callable[[dict], str], models: tuple[str, ...] = ("m",),
                requests: list[dict] | None = None) -> Iterator[str]:
    """A scripted OpenAI-compatible server: `GET /v1/models` lists `models`, and
    `POST /v1/chat/completions` answers `reply(body)` (with usage and, when asked, log-probabilities).
    Every request's path, headers and body is appended to `requests`; yields the `/v1` base URL."""
    seen = requests if requests is not None else []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": None})
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in models]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": "not found"})
                return
            text = reply(body)
            choice: dict = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            if body.get("logprobs"):
                choice["logprobs"] = {"content": [{"token": text[:1], "logprob": -0.1, "bytes": None,
                                                   "top_logprobs": [{"token": text[:1], "logprob": -0.1, "bytes": None}]}]}
            self._send(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                             "choices": [choice], "usage": {"prompt_tokens": 11, "completion_tokens": 3,
                                                            "total_tokens": 14}})

        def log_message(self, *args: object) -> None:
            return

    with _serving(Handler) as url:
        yield f"{url}/v1"


@contextmanager
def failing_openai_host(status: int, body: Callable[[str], bytes]) -> Iterator[str]:
    """An OpenAI-compatible server whose model list answers, and whose every chat call gets
    `status` with `body(authorization header)` (a server that echoes the bearer key, say)."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            self._send(200, json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode())

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(status, body(self.headers.get("Authorization", "")))

        def log_message(self, *args: object) -> None:
            return

    with _serving(Handler) as url:
        yield f"{url}/v1"


@contextmanager
def raw_openai_host(body: bytes, models: bytes = b'{"object": "list", "data": [{"id": "m"}]}') -> Iterator[str]:
    """An OpenAI-compatible server that answers every chat call 200 with `body` as it is (not JSON,
    no choices...) and `GET /models` with `models`; yields the /v1 base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            self._send(models)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(body)

        def log_message(self, *args: object) -> None:
            return

    with _serving(Handler) as url:
        yield f"{url}/v1"
