"""`ChatOpenAI` for OpenAI-compatible servers (vLLM, SGLang, llama.cpp's server, LM Studio, hosted
APIs), behaving as debatelab's ChatOllama does. A module of its own so that langchain-openai (about
a second to import) loads only in processes that use such a server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI

from debatelab.agents.calls import held_call_slot
from debatelab.agents.host_pool import watch_host
from debatelab.agents.model_errors import MalformedReplyError, describe_model_error


class HostChatOpenAI(ChatOpenAI):
    """ChatOpenAI for an OpenAI-compatible server, behaving as debatelab's ChatOllama does: it holds
    the host's call slot for the request alone, gives up on a silent host, and turns Ollama's
    `format` (a JSON schema, which every structured call sends) into OpenAI's `response_format`
    (vLLM, SGLang and llama.cpp constrain decoding with it). A server that ignores it still gets
    its reply validated, so an unreadable reply is *unscored*, never a default."""

    takes_call_slot: ClassVar[bool] = True

    def _openai_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(kwargs)
        kwargs.pop("stream", None)  # one response, not chunks (ChatOpenAI's own default)
        schema = kwargs.pop("format", None)
        if isinstance(schema, dict):
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "reply", "schema": schema, "strict": False}}
        elif schema == "json":
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        """The output cap goes out as `max_tokens`, which every compatible server reads (vLLM, SGLang,
        llama.cpp, LM Studio); ChatOpenAI's newer `max_completion_tokens` is kept for OpenAI's own API."""
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "max_completion_tokens" in payload and "api.openai.com" not in str(self.openai_api_base or ""):
            payload.setdefault("max_tokens", payload.pop("max_completion_tokens"))
        return payload

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        async with held_call_slot():
            request = super()._agenerate(messages, stop=stop, run_manager=run_manager, **self._openai_kwargs(kwargs))
            with malformed_reply_is_a_model_error():
                return _with_a_choice(await watch_host(str(self.openai_api_base or ""), request))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        with malformed_reply_is_a_model_error():
            return _with_a_choice(super()._generate(messages, stop=stop, run_manager=run_manager,
                                                    **self._openai_kwargs(kwargs)))


def _with_a_choice(result: ChatResult) -> ChatResult:
    if not result.generations:  # `choices: []`: LangChain would fail later, reading the first one
        raise MalformedReplyError("the reply has no choices")
    return result


@contextmanager
def malformed_reply_is_a_model_error() -> Iterator[None]:
    """A reply that is not JSON, has no `choices` or an empty list of them makes the openai client
    and langchain-openai fail while reading it (JSONDecodeError, TypeError, IndexError, KeyError):
    that is the server's failure, reported as one line like any other, never a traceback."""
    try:
        yield
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        if describe_model_error(exc) is not None:  # a client error that already says what it is
            raise
        raise MalformedReplyError(f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}") from exc
