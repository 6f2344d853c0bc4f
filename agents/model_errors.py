"""What a failed model call means, decided in one place for every client debatelab uses.

A call can fail because the host is down or slow, because the server broke, because the model is
missing, or because the request was wrong. Three questions are asked of such an error, and each
has one answer here:

- `is_transient`: worth retrying on the same host (a node's retry policy)?
- `is_host_failure`: might another host of a pool not have it (failover)?
- `describe_model_error`: the one readable line a user sees, or None when the error is not a
  model call's failure at all (a bug, which must propagate).
"""

from __future__ import annotations

import httpx
import ollama

from debatelab.base import ModelUnavailableError, redact


class MalformedReplyError(Exception):
    """A server answered, but not with what its API promises (not JSON, no choices, an empty list):
    a broken or misaddressed server, which another host of a pool may not be."""


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a server's error reply, whichever client raised it."""
    if isinstance(exc, ollama.ResponseError):
        return exc.status_code
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code
    status = getattr(exc, "status_code", None)  # openai.APIStatusError and friends
    return status if isinstance(status, int) else None


def _is_openai_error(exc: BaseException) -> bool:
    """An error of the `openai` client, or of langchain-openai's subclasses of them
    (`OpenAIAPIError(openai.InternalServerError)`...), recognised without importing either."""
    return any(c.__module__.split(".")[0] == "openai" for c in type(exc).__mro__)


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError) or (
        _is_openai_error(exc) and type(exc).__name__ in ("APIConnectionError", "APITimeoutError"))


def is_transient(exc: BaseException) -> bool:
    """Timeouts, dropped connections, 5xx, 408 and 429: worth another try. Never a 404 (a missing
    model stays missing) or another 4xx (the same request would fail again)."""
    status = _status(exc)
    if status is not None:
        return status >= 500 or status in (408, 429)
    return _is_connection_error(exc)


def is_host_failure(exc: BaseException) -> bool:
    """Failures another host may not have: the host is down, slow, broken, or lacks the model."""
    status = _status(exc)
    if status is not None:
        return status >= 500 or status in (404, 408, 429)
    return _is_connection_error(exc) or isinstance(exc, httpx.HTTPError | MalformedReplyError)


def describe_model_error(exc: BaseException) -> str | None:
    """One line for a model call's failure (what happened and what to do), or None for anything
    that is not one. A URL's password in the error's text is redacted."""
    line = _describe(exc)
    return redact(line) if line is not None else None


def _describe(exc: BaseException) -> str | None:
    status = _status(exc)
    if status is not None and (isinstance(exc, ollama.ResponseError | httpx.HTTPStatusError) or _is_openai_error(exc)):
        detail = getattr(exc, "error", None) or getattr(exc, "message", None) or str(exc)
        detail = " ".join(str(detail).split())[:300]
        if status == 404:
            return f"the model server said 404 ({detail}): pull or serve that model on its host"
        return f"the model server answered {status} ({detail})"
    if isinstance(exc, httpx.TimeoutException | TimeoutError) or (
            _is_openai_error(exc) and type(exc).__name__ == "APITimeoutError"):
        return f"the model host did not answer in time ({type(exc).__name__})"
    if _is_connection_error(exc):
        return f"the model host is unreachable or dropped the connection ({type(exc).__name__}: {exc})"
    if isinstance(exc, MalformedReplyError):
        return f"the model server's reply was not what its API promises ({exc}); is its URL the server's API address?"
    if isinstance(exc, httpx.HTTPError) or _is_openai_error(exc):
        return f"the model call failed ({type(exc).__name__}: {exc})"
    return None


def model_call_failed(what: str, exc: BaseException) -> ModelUnavailableError | None:
    """`exc` as the one-line error a user sees when `what` (a debate, a judgment) lost its model
    call, or None when `exc` is not a model call's failure (a bug, to propagate as is)."""
    line = describe_model_error(exc)
    if line is None:
        return None
    return ModelUnavailableError(f"{what}: {line}; re-run the same command to resume from the last finished step")
