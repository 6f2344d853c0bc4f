"""Streamed replies: Ollama's NDJSON chunks or OpenAI's server-sent events, written through the
request handler as the engine produces tokens."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from debatelab.agents.embedded.engine import EngineResult
from debatelab.agents.embedded.translation import ServedModel, done_reason, final_payload, iso_now


class StreamWriter:
    """Writes a streamed reply: Ollama's NDJSON chunks, or OpenAI's server-sent events.

    Once the 200 and the first chunk are out, a failure can no longer change the status: it ends
    the stream with an error chunk (as Ollama does) instead of writing a second HTTP response.
    """

    def __init__(self, handler: Any, model: ServedModel, shape: str, started: float) -> None:
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
                chunk: dict[str, Any] = {"model": self.model.tag, "created_at": iso_now(), "done": False}
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
            self._write(self._openai_chunk({}, done_reason(result)))
            self._write("[DONE]")
        else:
            final = final_payload(self.shape, self.model, result, self.started_at)
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


