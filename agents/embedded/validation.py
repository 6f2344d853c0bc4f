"""Request validation for the embedded endpoint, as Ollama validates: a bad request is a 400 that
names the field, never a 500, a silent ignore, or a value the engine wraps around.

Ollama accepts unknown option names (it logs them), so those are ignored here too; known options
must have the right type, be finite, and lie in range. Features the engine does not have (tools,
images, raw prompts, suffixes) are refused, so a client never believes they took effect.
"""

from __future__ import annotations

import math
from typing import Any


class BadRequest(ValueError):
    """A client mistake: answered with 400 and the message."""

    status = 400


class PayloadTooLarge(BadRequest):
    status = 413


MAX_BODY_BYTES = 32 << 20  # Ollama has no hard limit; a chat request here is kilobytes
MAX_PREDICT = 1 << 20
INT64 = 1 << 63

# name -> (kind, low, high); None means unbounded on that side.
_OPTIONS: dict[str, tuple[str, float | None, float | None]] = {
    "num_predict": ("int", -2, MAX_PREDICT),
    "num_ctx": ("int", 1, 1 << 20),
    "num_keep": ("int", -1, 1 << 20),
    "num_batch": ("int", 1, 1 << 16),
    "num_thread": ("int", 0, 1024),
    "num_gpu": ("int", -1, 1 << 16),
    "top_k": ("int", 0, 1 << 20),
    "repeat_last_n": ("int", -1, 1 << 20),
    "seed": ("int", -INT64, INT64 - 1),
    "mirostat": ("int", 0, 2),
    "temperature": ("float", 0.0, 100.0),
    "top_p": ("float", 0.0, 1.0),
    "min_p": ("float", 0.0, 1.0),
    "typical_p": ("float", 0.0, 1.0),
    "repeat_penalty": ("float", 0.0, 100.0),
    "presence_penalty": ("float", -100.0, 100.0),
    "frequency_penalty": ("float", -100.0, 100.0),
    "mirostat_tau": ("float", 0.0, 100.0),
    "mirostat_eta": ("float", 0.0, 100.0),
}

UNSUPPORTED_FIELDS = ("tools", "images", "raw", "suffix", "context", "template")


def _check_number(name: str, value: Any, kind: str, low: float | None, high: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"option '{name}': expected a number, got {type(value).__name__}")
    if kind == "int" and (isinstance(value, float) and not value.is_integer()):
        raise BadRequest(f"option '{name}': expected an integer, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"option '{name}': must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadRequest(f"option '{name}': {value!r} is out of range [{low}, {high}]")


def validate_options(options: Any) -> dict[str, Any]:
    """The request's options, checked; unknown names are dropped as Ollama drops them."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise BadRequest("field 'options': must be an object")
    clean: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name == "stop":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value) or len(value) > 16:
                raise BadRequest("option 'stop': expected a string or a list of at most 16 strings")
            clean[name] = value
        elif name in _OPTIONS:
            kind, low, high = _OPTIONS[name]
            _check_number(name, value, kind, low, high)
            clean[name] = int(value) if kind == "int" else float(value)
    return clean


def refuse_unsupported(body: dict[str, Any]) -> None:
    """Tools, images, raw prompts, suffixes and templates are not served by this endpoint."""
    for name in UNSUPPORTED_FIELDS:
        if body.get(name) not in (None, False, "", [], {}):
            raise BadRequest(f"'{name}' is not supported by the embedded endpoint")
    for i, message in enumerate(body.get("messages") or []):
        if isinstance(message, dict):
            for name in ("images", "tool_calls"):
                if message.get(name):
                    raise BadRequest(f"messages.{i}.{name}: not supported by the embedded endpoint")
            if message.get("role") == "tool":
                raise BadRequest(f"messages.{i}: role 'tool' is not supported by the embedded endpoint")


def content_length(raw: str | None) -> int:
    """The request's Content-Length: absent is 0; malformed or negative is a 400, too big a 413."""
    if raw is None or raw == "":
        return 0
    text = raw.strip()
    if not text.isdigit():
        raise BadRequest(f"invalid Content-Length header {raw!r}")
    length = int(text)
    if length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body of {length} bytes is over the {MAX_BODY_BYTES} byte limit")
    return length


def check_schema_bounds(schema: Any, path: str = "format") -> None:
    """Refuse a JSON schema whose bounds contradict each other (minimum above maximum, ...): the
    grammar it compiles to matches nothing, and the engine would answer with whitespace."""
    if isinstance(schema, dict):
        for low_key, high_key in (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"),
                                  ("minProperties", "maxProperties")):
            low, high = schema.get(low_key), schema.get(high_key)
            if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
                raise BadRequest(f"{path}: {low_key} {low} is above {high_key} {high}; no value can match")
        for key, value in schema.items():
            if isinstance(value, dict | list):
                check_schema_bounds(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            check_schema_bounds(item, f"{path}.{i}")
