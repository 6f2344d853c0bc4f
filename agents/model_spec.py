"""`ModelSpec`: which chat model an agent uses, where it is served, and with what options.

A spec is the frozen record of a model choice; it is stored with every turn and judgment so a
result can always be traced back to the exact model and options that produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic_core import CoreSchema

from debatelab.base import UserError, load_yaml_model, redact, string_or_object_schema

EMBEDDED = "embedded"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


def family_of(tag_or_label: str) -> str:
    """The model family of a tag or a `TAG@HOST` label: `deepseek-r1:8b@http://a:11434` -> `deepseek-r1`.
    The one definition every self-preference check uses."""
    tag = tag_or_label.split("@")[0]
    return tag.split(":")[0].split("/")[-1].lower()


OPENAI_PREFIX = "openai:"
Provider = Literal["ollama", "openai"]


MAX_URL_CHARS = 2048  # what browsers and proxies take; a longer 'URL' is a mistake


class ModelSpec(BaseModel):
    """A model on a host, with generation options: an Ollama tag on an Ollama server (the default),
    or a model served by an OpenAI-compatible server (vLLM, SGLang, llama.cpp, LM Studio, a hosted
    API) with `provider: openai`.

    Example:
        ```python
        ModelSpec(model="smollm2:135m", host="embedded", temperature=0.7, num_predict=128)
        ModelSpec.parse("deepseek-r1:8b@http://gpu-box:11434")
        ModelSpec.parse("openai:Qwen/Qwen2.5-7B-Instruct@http://gpu-box:8000/v1")
        ModelSpec(model="gpt-4o-mini", provider="openai", base_url="https://api.openai.com/v1",
                  api_key_env="OPENAI_API_KEY")
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        """Editors' schema: a spec is also written as a string (see `parse`)."""
        return string_or_object_schema(core_schema, handler, "TAG, TAG@HOST (an Ollama URL or 'embedded') or "
                                       "openai:NAME@BASE_URL")

    model: str = Field(min_length=1, description="Ollama tag (e.g. 'deepseek-r1:8b'), or the model name an "
                                                 "OpenAI-compatible server lists")
    provider: Provider = Field(default="ollama", description="'ollama' (Ollama's API) or 'openai' (an "
                                                             "OpenAI-compatible /v1 server, through ChatOpenAI)")
    host: str | None = Field(
        default=None,
        description="URL of an Ollama server, or 'embedded'; None means $OLLAMA_HOST or the default. For provider "
                    "openai: the base URL ending in /v1 (or 'embedded', its /v1)",
    )
    base_url: str | None = Field(default=None, description="provider openai: the server's base URL, e.g. "
                                                           "http://gpu-box:8000/v1 (the same as host)")
    api_key_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="provider openai: the environment variable holding the API key; the key itself is read "
                    "when a call is made and never stored")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="sampling temperature")
    seed: int | None = Field(default=None, description="sampling seed (each repeat shifts it)")
    num_ctx: int = Field(default=4096, ge=256, description="context window; always sent explicitly")
    num_predict: int | None = Field(default=None, ge=1,
        description="output tokens per reply (max_tokens on OpenAI-compatible servers)")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="nucleus sampling mass")
    stop: list[str] | None = Field(default=None, description="stop sequences")
    repeat_penalty: float | None = Field(default=None, gt=0.0, le=3.0, description="penalty on repeated tokens (Ollama)")
    reasoning: bool | None = Field(
        default=None, description="Ollama 'think': True keeps thinking apart, False disables it"
    )
    keep_alive: str | int | None = Field(default=None, description="how long Ollama keeps the model loaded (e.g. '10m')")
    timeout: float = Field(default=600.0, gt=0, description="seconds before a call is abandoned")
    gguf: str | None = Field(
        default=None,
        description="a GGUF file the embedded endpoint serves under this tag (host must be 'embedded')",
    )
    hosts: tuple[str, ...] | None = Field(
        default=None,
        description="a pool: several hosts serving this tag; calls go to a free one and fail over (overrides host)",
    )

    @model_validator(mode="before")
    @classmethod
    def _base_url_is_host(cls, data: object) -> object:
        """`base_url` (OpenAI's word) and `host` name the same thing: either may be given."""
        if isinstance(data, dict) and data.get("base_url") is not None:
            if data.get("host") is not None and str(data["host"]).rstrip("/") != str(data["base_url"]).rstrip("/"):
                raise ValueError("give base_url or host, not both (they name the same server)")
            data = {**data, "host": data["base_url"], "base_url": None}
        return data

    @model_validator(mode="after")
    def _openai_fields(self) -> ModelSpec:
        if self.provider != "openai" and self.api_key_env is not None:
            raise ValueError("api_key_env is for provider 'openai' (Ollama servers take no key)")
        return self

    @model_validator(mode="after")
    def _gguf_needs_embedded(self) -> ModelSpec:
        if self.gguf is not None and self.host != EMBEDDED:
            raise ValueError(f"gguf is only for host 'embedded' (the endpoint debatelab runs); on an Ollama host "
                             f"import the file with `ollama create {self.model}` instead")
        return self

    @field_validator("host")
    @classmethod
    def _check_host(cls, v: str | None) -> str | None:
        if v is None or v == EMBEDDED:
            return v
        if not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError(f"host must be a URL like http://127.0.0.1:11434 or the word 'embedded', not "
                             f"{redact(v)[:80]!r}")
        if len(v) > MAX_URL_CHARS:
            raise ValueError(f"host is a URL of {len(v)} characters (at most {MAX_URL_CHARS})")
        try:
            httpx.URL(v)
        except (httpx.InvalidURL, ValueError) as exc:
            raise ValueError(f"host {redact(v)[:80]!r} is not a valid URL ({redact(str(exc))[:80]}); an IPv6 "
                             f"address goes in brackets, e.g. http://[::1]:8000/v1") from None
        return v.rstrip("/")

    @field_validator("hosts")
    @classmethod
    def _check_hosts(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("hosts must name at least one host (a URL or 'embedded')")
        checked = tuple(cls._check_host(h) for h in v)
        if len(set(checked)) != len(checked):
            raise ValueError(f"hosts lists a host twice: {', '.join(checked)}")
        return checked  # type: ignore[return-value]

    @classmethod
    def parse(cls, text: str, **options: object) -> ModelSpec:
        """Parse the command-line form `TAG` or `TAG@HOST` (HOST a URL or `embedded`), or
        `openai:NAME@URL` for an OpenAI-compatible server (its key, if any, from `api_key_env`)."""
        provider = "ollama"
        if text.startswith(OPENAI_PREFIX):
            provider, text = "openai", text[len(OPENAI_PREFIX):]
        if provider == "openai":  # a name may hold '@', and so may a URL's user:password@: split where the host begins
            at = max(text.rfind(f"@{start}") for start in ("http://", "https://", EMBEDDED))
            tag, sep, host = (text[:at], "@", text[at + 1:]) if at >= 0 else text.rpartition("@")
            if not sep:
                tag, host = host, ""
        else:
            tag, sep, host = text.partition("@")
        return cls(model=tag.strip(), host=host.strip() if sep else None, provider=provider,  # type: ignore[arg-type]
                   **options)

    @classmethod
    def from_yaml(cls, path: str | Path) -> ModelSpec:
        return load_yaml_model(cls, path)

    @property
    def label(self) -> str:
        """`TAG@HOST` as a user would write it (a password in the host URL shown as `***`: labels are
        stored, traced and printed)."""
        where = f"{self.model}@{redact(self.host)}" if self.host else self.model
        return OPENAI_PREFIX + where if self.provider == "openai" else where

    @property
    def identity(self) -> str:
        """What a result is attributed to: the tag, never the host (a model moved between hosts,
        or served by a pool, is the same model)."""
        return self.model

    @property
    def pool(self) -> tuple[str, ...] | None:
        """The hosts of a pool of two or more; None for a single host."""
        return self.hosts if self.hosts and len(self.hosts) > 1 else None

    @property
    def family(self) -> str:
        """Model family (the tag's name part), used to warn when a judge judges its own family."""
        return family_of(self.model)

    def fingerprint(self, *, legacy: bool = False) -> str:
        """Stable hash of everything that changes what the model says: the tag and the options,
        not where it is served (host and hosts), so moving a model keeps finished work finished.

        `legacy=True` gives debatelab 0.1's fingerprint, which included the host: the runner looks
        for debates stored under it, so a 0.1 database and its checkpoints keep resuming."""
        dump = self.model_dump(exclude={"timeout", "keep_alive", "hosts", "base_url", "api_key_env"}
                               | (set() if legacy else {"host"}))
        if dump["gguf"] is None:
            del dump["gguf"]  # specs without a GGUF keep the fingerprints (and resumable threads) they had
        if dump["provider"] == "ollama":
            del dump["provider"]  # likewise for specs from before providers
        blob = json.dumps(dump, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def with_options(self, **overrides: object) -> ModelSpec:
        """A copy with some options replaced (None values are ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=clean) if clean else self


def default_openai_base_url() -> str:
    """The OpenAI client's own convention for a spec without base_url: $OPENAI_BASE_URL (so a SLURM
    task can point every model at the server it started, as $OLLAMA_HOST does for Ollama)."""
    url = os.environ.get("OPENAI_BASE_URL", "").strip().rstrip("/")
    if not url:
        raise UserError("a model with provider 'openai' has no base_url and OPENAI_BASE_URL is not set; give "
                        "base_url (e.g. http://127.0.0.1:8000/v1) or export OPENAI_BASE_URL")
    if not url.startswith(("http://", "https://")):
        raise UserError(f"OPENAI_BASE_URL must be a URL like http://127.0.0.1:8000/v1, not {url!r}")
    return url


def default_ollama_host() -> str:
    """Ollama's own convention: $OLLAMA_HOST, else 127.0.0.1:11434."""
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if not host:
        return DEFAULT_OLLAMA_HOST
    if not host.startswith("http"):
        host = "http://" + host
    return host.rstrip("/")


ThinkMode = Literal["separate", "off", "default"]
