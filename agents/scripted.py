"""A scripted chat model for tests and benchmarks (no server, no latency unless asked).

LangChain's fake chat models neither accept Ollama's per-call `format` nor report usage, and
parallel `Send` tasks consume a shared fake's replies in any order. `ScriptedChatModel` answers
with a function of the prompt, so replies are deterministic whatever the scheduling, and records
every call so tests can assert who saw what.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr


@dataclass
class WithLogprobs:
    """A scripted reply that also carries Ollama-shaped logprobs (as when the call asked for them)."""

    reply: str | dict[str, Any]
    letter_probs: dict[str, float]


Reply = str | dict[str, Any] | WithLogprobs
Script = Callable[[str, dict[str, Any]], Reply]


def letter_logprobs(text: str, letter_probs: dict[str, float]) -> list[dict[str, Any]]:
    """Ollama-shaped logprobs for a JSON answer `text`: three tokens (before the letter, the letter
    with `letter_probs` as its alternatives, after it), so tests can script option probabilities."""
    at = text.rindex('"letter": "') + len('"letter": "')
    chosen = text[at]

    def tok(token: str, p: float = 1.0) -> dict[str, Any]:
        return {"token": token, "logprob": math.log(p), "bytes": list(token.encode())}

    alternatives = [tok(letter, p) for letter, p in letter_probs.items() if p > 0]
    return [{**tok(text[:at]), "top_logprobs": []},
            {**tok(chosen, max(letter_probs.get(chosen, 0.0), 1e-9)), "top_logprobs": alternatives},
            {**tok(text[at + 1:]), "top_logprobs": []}]


def _default_script(name: str) -> Script:
    def reply(prompt: str, kwargs: dict[str, Any]) -> Reply:
        if kwargs.get("format") is not None:
            return {"rationale": f"{name} weighed both sides", "winner": "pro",
                    "recommendation": "proceed with safeguards", "confidence_percent": 70}
        return f"{name} says: argument number {prompt.count('[Round')}"

    return reply


class ScriptedChatModel(BaseChatModel):
    """Replies from `script(prompt_text, call_kwargs)`; dict replies are sent as JSON text."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name_: str = Field(default="scripted", alias="name")
    script: Script | None = None
    latency_s: float = 0.0
    done_reason: str = "stop"
    num_predict: int | None = None
    _calls: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self._calls

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        script = self.script or _default_script(self.name_)
        out = script(prompt, kwargs)
        meta: dict[str, Any] = {"done_reason": self.done_reason, "model_name": self.name_}
        if isinstance(out, WithLogprobs):
            text = json.dumps(out.reply) if isinstance(out.reply, dict) else str(out.reply)
            if kwargs.get("logprobs"):
                meta["logprobs"] = letter_logprobs(text, out.letter_probs)
        else:
            text = json.dumps(out) if isinstance(out, dict) else str(out)
        with self._lock:
            self._calls.append({"prompt": prompt, "kwargs": dict(kwargs), "reply": text})
        msg = AIMessage(
            content=text,
            usage_metadata={"input_tokens": len(prompt.split()), "output_tokens": len(text.split()),
                            "total_tokens": len(prompt.split()) + len(text.split())},
            response_metadata=meta,
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        if self.latency_s:
            import time

            time.sleep(self.latency_s)
        return self._reply(messages, kwargs)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return self._reply(messages, kwargs)
