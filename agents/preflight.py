"""Preflight: before a run makes any model call, check every host and model it needs.

A run that fails an hour in because one tag was never pulled wastes an afternoon; checking
`/api/version` and `/api/tags` (Ollama) or `GET /v1/models` (OpenAI-compatible servers) up front
turns that into one clear message per problem.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from debatelab.agents.host_liveness import mark_host_down
from debatelab.agents.model_spec import EMBEDDED, ModelSpec
from debatelab.base import ModelUnavailableError, redact, remember_secret


@dataclass(frozen=True)
class ModelCheck:
    host: str
    model: str
    available: bool
    problem: str = ""


def list_host_models(url: str, timeout_s: float = 5.0) -> list[str]:
    """Tags served by an Ollama(-compatible) host; raises ModelUnavailableError if unreachable."""
    try:
        # Plain HTTP uses no TLS: skip loading the CA bundle (as in agents/chat_model.py).
        with httpx.Client(timeout=timeout_s, verify=not url.startswith("http://")) as client:
            client.get(f"{url}/api/version").raise_for_status()
            resp = client.get(f"{url}/api/tags")
            resp.raise_for_status()
    except (httpx.HTTPError, OSError) as exc:
        raise ModelUnavailableError(unreachable_message(url, exc)) from None
    models = resp.json().get("models", [])
    for m in models:
        if m.get("digest"):
            _DIGESTS[(url, m.get("name") or m.get("model"))] = str(m["digest"])
    return [m.get("name") or m.get("model") for m in models]


_DIGESTS: dict[tuple[str, str], str] = {}  # (host URL, tag) -> the digest the host reported


def digest_of(url: str, tag: str) -> str | None:
    """The digest a host reported for a tag at preflight (Ollama's /api/tags has one per model):
    recorded with every call, so a result names the exact weights even when the tag moved."""
    return _DIGESTS.get((url, tag)) or _DIGESTS.get((url, f"{tag}:latest"))


def list_openai_models(url: str, api_key: str | None, timeout_s: float = 5.0) -> list[str]:
    """Model names an OpenAI-compatible server lists at `GET {url}/models` (vLLM, SGLang, llama.cpp,
    LM Studio and hosted APIs all answer it); raises ModelUnavailableError if unreachable or refused."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(timeout=timeout_s, verify=not url.startswith("http://")) as client:
            resp = client.get(f"{url}/models", headers=headers)
    except (httpx.HTTPError, OSError) as exc:
        raise ModelUnavailableError(f"OpenAI-compatible server {redact(url)} is unreachable ({type(exc).__name__}): "
                                    f"start it, or fix the model's base_url") from None
    if resp.status_code in (401, 403):
        raise ModelUnavailableError(f"OpenAI-compatible server {redact(url)} refused the API key (HTTP "
                                    f"{resp.status_code}): check the variable named by api_key_env")
    if resp.status_code != 200:
        raise ModelUnavailableError(f"OpenAI-compatible server {redact(url)}: GET /models answered HTTP "
                                    f"{resp.status_code}; is base_url the server's /v1 address?")
    try:
        data = resp.json().get("data")
        if not isinstance(data, list):
            raise ValueError("no list under 'data'")
        return [str(m.get("id")) for m in data]
    except (ValueError, AttributeError, TypeError):
        raise ModelUnavailableError(f"OpenAI-compatible server {redact(url)}: GET /models did not answer with a "
                                    f"model list; is base_url the server's /v1 address?") from None


def unreachable_message(url: str, exc: BaseException | None = None) -> str:
    why = f" ({type(exc).__name__})" if exc else ""
    return (
        f"model host {redact(url)} is unreachable{why}: start Ollama there (`ollama serve`, or set OLLAMA_HOST) "
        f"or use host 'embedded'"
    )


def _has_model(served: list[str], tag: str) -> bool:
    wanted = {tag, f"{tag}:latest"} if ":" not in tag else {tag}
    return any(s in wanted for s in served)


def register_ggufs(specs: Iterable[ModelSpec]) -> None:
    """Register every spec's `gguf:` file before any host is resolved, so the on-demand embedded
    endpoint starts once, serving them all."""
    from debatelab.agents.embedded.launcher import register_gguf

    for spec in specs:
        if spec.host == EMBEDDED and spec.gguf:
            register_gguf(spec.model, spec.gguf)


def check_models(specs: Iterable[ModelSpec], resolve_host: Callable[[ModelSpec], str]) -> list[ModelCheck]:
    """Check each distinct (host, model); `resolve_host(spec)` maps a spec to its URL (each host
    of a pool is checked: pass a spec per pool host, see `pool_members`)."""
    specs = list(specs)
    register_ggufs(specs)
    checks: list[ModelCheck] = []
    by_host: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    embedded_urls: set[str] = set()
    openai: dict[str, ModelSpec] = {}
    for spec in specs:
        url = resolve_host(spec)
        by_host.setdefault(url, set()).add(spec.model)
        labels[url] = f"{redact(url)} (embedded)" if spec.host == EMBEDDED else redact(url)
        if spec.host == EMBEDDED:
            embedded_urls.add(url)
        if spec.provider == "openai":
            openai[url] = spec
    for url, tags in by_host.items():
        try:
            if url in openai:
                served = list_openai_models(url, _key(openai[url]))
            else:
                served = list_host_models(url)
        except ModelUnavailableError as exc:
            checks.extend(ModelCheck(labels[url], t, False, str(exc)) for t in sorted(tags))
            continue
        for tag in sorted(tags):
            if (tag in served) if url in openai else _has_model(served, tag):
                checks.append(ModelCheck(labels[url], tag, True))
            elif url in openai:
                listed = ", ".join(served[:5]) + (", ..." if len(served) > 5 else "") or "none"
                checks.append(ModelCheck(labels[url], tag, False,
                                         f"model '{tag}' is not served by the OpenAI-compatible server at "
                                         f"{redact(url)} (it lists: {listed}); serve it there (e.g. `vllm serve "
                                         f"{tag}`) or use a listed name"))
            elif url in embedded_urls:
                checks.append(ModelCheck(labels[url], tag, False,
                                         f"model '{tag}' is not served by the embedded endpoint at {redact(url)}: give it "
                                         f"a `gguf:` file in the configuration, or start the endpoint with "
                                         f"`debatelab serve-embedded --model {tag}=PATH`"))
            else:
                checks.append(ModelCheck(labels[url], tag, False,
                                         f"model '{tag}' is not on {redact(url)}: run `ollama pull {tag}` there"))
    return checks


def _key(spec: ModelSpec) -> str | None:
    """The API key for preflight, read from the spec's variable (never kept)."""
    if spec.api_key_env is None:
        return None
    value = os.environ.get(spec.api_key_env)
    if not value:
        raise ModelUnavailableError(f"model {spec.label}: environment variable {spec.api_key_env} (field "
                                    f"'api_key_env') is not set; export it with the server's API key")
    remember_secret(value)
    return value


def pool_members(spec: ModelSpec) -> list[ModelSpec]:
    """A pooled spec as one single-host spec per host (what preflight checks)."""
    if not spec.hosts:
        return [spec]
    return [spec.model_copy(update={"host": h, "hosts": None}) for h in spec.hosts]


def require_models(specs: Iterable[ModelSpec], resolve_host: Callable[[ModelSpec], str]) -> list[str]:
    """Check every host of every spec. Raise one ModelUnavailableError listing every problem, except
    that a pool with at least one host serving its model only warns about the others: the
    returned lines name them (calls fail over from them anyway)."""
    specs = {s.model_dump_json(): s for s in specs}.values()
    members = {m.model_dump_json(): m for s in specs for m in pool_members(s)}.values()
    checks = check_models(list(members), resolve_host)
    ok = {(c.model, c.host.removesuffix(" (embedded)")) for c in checks if c.available}
    shown = {resolve_host(m): redact(resolve_host(m)) for m in members}
    problems: set[str] = set()
    warnings: list[str] = []
    for spec in specs:
        urls = [resolve_host(m) for m in pool_members(spec)]
        missing = [u for u in urls if (spec.model, shown[u]) not in ok]
        if not missing:
            continue
        missing_shown = {shown[u] for u in missing}
        reasons = sorted({c.problem for c in checks if not c.available and c.model == spec.model
                          and c.host.removesuffix(" (embedded)") in missing_shown})
        if len(missing) == len(urls):
            problems.update(reasons)
        else:
            for url in missing:
                mark_host_down(url, "failed preflight")
            warnings.append(f"model '{spec.model}' is missing or unreachable on {len(missing)} of the {len(urls)} "
                            f"hosts of its pool ({', '.join(sorted(missing_shown))}); those start backed off and its "
                            f"calls go to the others until they answer again")
    if problems:
        raise ModelUnavailableError("\n".join(sorted(problems)))
    return sorted(set(warnings))


def reported_digest(spec: ModelSpec) -> str | None:
    """The digest preflight saw for a spec's tag on its host (a pool's first host that had it).
    Never starts anything: an embedded endpoint not yet running has reported nothing."""
    from debatelab.agents.embedded.launcher import running_embedded_host
    from debatelab.agents.model_spec import default_ollama_host

    for host in spec.hosts or (spec.host,):
        url = running_embedded_host() if host == EMBEDDED else (host or default_ollama_host())
        digest = digest_of(url, spec.model) if url else None
        if digest:
            return digest
    return None
