"""The embedded endpoint validates requests as Ollama does, serves its other common routes, and
frees a slot as soon as a client goes away. A simulated engine stands in for llama.cpp here (the
real one is covered by test_embedded_endpoint.py); the HTTP layer under test is the same."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from debatelab.agents.embedded.engine import EngineRequest, EngineResult, SimulatedEngine
from debatelab.agents.embedded.server import make_server
from debatelab.agents.embedded.translation import ServedModel
from tests.conftest import read_log  # noqa: E402

MSG = [{"role": "user", "content": "Say hi."}]


class FailingMidStream(SimulatedEngine):
    """Streams two pieces, then the engine fails (as llama.cpp can, e.g. out of memory)."""

    def chat(self, request: EngineRequest, on_delta: Any = None) -> EngineResult:
        if on_delta:
            on_delta("one ", None)
            on_delta("two ", None)
        raise RuntimeError("engine crashed")


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    engines: dict[str, Any] = {"sim:1": SimulatedEngine(latency_per_token_s=0.01, tokens=12),
                               "slow:1": SimulatedEngine(latency_per_token_s=0.05, tokens=400),
                               "broken:1": FailingMidStream()}
    models = {tag: ServedModel(tag, (lambda e=e: e)) for tag, e in engines.items()}
    server = make_server(models, port=0, request_log=tmp_path / "calls.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", {**engines, "log": tmp_path / "calls.jsonl"}
    server.shutdown()
    server.server_close()


def post(url: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=30)


@pytest.mark.parametrize("options, field", [
    ({"num_predict": 10**12}, "num_predict"),
    ({"temperature": -1}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_k": -5}, "top_k"),
    ({"num_ctx": -1}, "num_ctx"),
    ({"temperature": "hot"}, "temperature"),
    ({"top_k": True}, "top_k"),
    ({"seed": 1.5}, "seed"),
    ({"stop": [1, 2]}, "stop"),
])
def test_bad_options_are_400_naming_the_option(endpoint, options: dict, field: str) -> None:
    url, _ = endpoint
    r = post(url, "/api/chat", {"model": "sim:1", "messages": MSG, "stream": False, "options": options})
    assert r.status_code == 400 and field in r.json()["error"]


def test_nan_is_refused(endpoint) -> None:
    url, _ = endpoint
    body = ('{"model": "sim:1", "messages": [{"role": "user", "content": "x"}], "stream": false, '
            '"options": {"temperature": NaN}}')
    r = httpx.post(url + "/api/chat", content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400 and "finite" in r.json()["error"]


@pytest.mark.parametrize("extra, field", [
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
    ({"messages": [{"role": "user", "content": "x", "images": ["aGk="]}]}, "images"),
    ({"raw": True}, "raw"),
    ({"suffix": "end"}, "suffix"),
    ({"format": {"type": "integer", "minimum": 5, "maximum": 1}}, "minimum 5 is above maximum 1"),
    ({"format": "yaml"}, "format"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "role"),
])
def test_unsupported_or_malformed_requests_are_400(endpoint, extra: dict, field: str) -> None:
    url, _ = endpoint
    r = post(url, "/api/chat", {"model": "sim:1", "messages": MSG, "stream": False, **extra})
    assert r.status_code == 400 and field in r.json()["error"]


def test_unknown_model_is_404_in_ollamas_shape(endpoint) -> None:
    url, _ = endpoint
    r = post(url, "/api/chat", {"model": "nope:1", "messages": MSG})
    assert r.status_code == 404 and r.json() == {"error": "model 'nope:1' not found"}


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)  # the client has said all it will say
        return s.recv(4096)


def test_bad_and_oversized_content_length(endpoint) -> None:
    url, _ = endpoint
    bad = _raw(url, b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")
    assert bad.startswith(b"HTTP/1.1 400") and b"Content-Length" in bad
    big = _raw(url, b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n{}")
    assert big.startswith(b"HTTP/1.1 413")
    short = _raw(url, b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\nConnection: close\r\n\r\n{}")
    assert short.startswith(b"HTTP/1.1 400")


def test_generate_ps_and_the_openai_routes(endpoint) -> None:
    url, _ = endpoint
    r = post(url, "/api/generate", {"model": "sim:1", "prompt": "hi", "system": "be brief", "stream": False,
                                    "options": {"num_predict": 4}})
    assert r.status_code == 200 and r.json()["response"] and r.json()["done_reason"] == "length"
    lines = [json.loads(x) for x in httpx.post(url + "/api/generate", json={"model": "sim:1", "prompt": "hi",
                                                                           "options": {"num_predict": 3}}).text.splitlines()]
    assert [x["done"] for x in lines] == [False, False, False, True] and lines[0]["response"]
    assert {m["name"] for m in httpx.get(url + "/api/ps").json()["models"]} >= {"sim:1"}
    assert {m["id"] for m in httpx.get(url + "/v1/models").json()["data"]} == {"sim:1", "slow:1", "broken:1"}
    r = post(url, "/v1/chat/completions", {"model": "sim:1", "messages": MSG, "max_tokens": 4})
    body = r.json()
    assert r.status_code == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] and body["usage"]["completion_tokens"] == 4
    events = [line.removeprefix("data: ") for line in httpx.post(
        url + "/v1/chat/completions", json={"model": "sim:1", "messages": MSG, "max_tokens": 3, "stream": True},
    ).text.split("\n\n") if line]
    assert events[-1] == "[DONE]" and json.loads(events[-2])["choices"][0]["finish_reason"] == "length"
    r = post(url, "/v1/chat/completions", {"model": "sim:1", "messages": MSG, "tools": [{"type": "function"}]})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_a_failure_mid_stream_ends_the_stream_with_an_error_chunk(endpoint) -> None:
    url, _ = endpoint
    with httpx.stream("POST", url + "/api/chat", json={"model": "broken:1", "messages": MSG}, timeout=30) as r:
        assert r.status_code == 200
        chunks = [json.loads(line) for line in r.iter_lines() if line]
    assert chunks[0]["message"]["content"] == "one " and chunks[-1] == {"error": "inference failed: engine crashed"}


@pytest.mark.parametrize("stream", [False, True])
def test_a_disconnected_clients_generation_is_cancelled(endpoint, stream: bool) -> None:
    url, engines = endpoint
    slow: SimulatedEngine = engines["slow:1"]
    body = json.dumps({"model": "slow:1", "messages": MSG, "stream": stream}).encode()
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    time.sleep(0.5)  # generating (400 tokens would take 20 s)
    s.close()
    assert slow._slots.acquire(timeout=15)  # the one slot comes free long before the 400 tokens
    slow._slots.release()
    for _ in range(200):
        rows = read_log(engines["log"])
        if rows:
            break
        time.sleep(0.05)
    assert rows[-1]["status"] == 499 and rows[-1]["output_tokens"] < 400, rows  # stopped, not finished
