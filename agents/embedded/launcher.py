"""Starting the embedded endpoint: in this process (for `serve-embedded`) or as a child process.

The runner and the tests use `EmbeddedEndpoint`, which starts `debatelab serve-embedded` as a
child on a free port, waits until it answers, and stops it on exit. A child process keeps
llama.cpp's threads and logs out of the caller, and dies with it (PR_SET_PDEATHSIG), so a
kill -9 of a run never leaves an orphan server holding a port.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from debatelab.agents.embedded.engine import LlamaEngine, SimulatedEngine
from debatelab.agents.embedded.translation import ServedModel
from debatelab.agents.embedded.weights import (
    BUILTIN_MODELS,
    check_gguf,
    ensure_weights,
    published_file,
    weights_digest,
)
from debatelab.agents.host_slots import EMBEDDED_SLOTS
from debatelab.base import UserError, cache_dir, sha256_of

DEFAULT_MODEL = "smollm2:135m"
ENV_HOST = "DEBATELAB_EMBEDDED_HOST"
STALE_LOG_S = 7 * 86400  # an endpoint log older than this is an orphan's (or old evidence): removed


def prune_stale_logs(folder: Path, older_than_s: float = STALE_LOG_S) -> int:
    """Remove endpoint logs not written to for `older_than_s`; returns how many.

    `stop()` removes a log after a clean stop, but a run killed with `kill -9` never reaches it:
    its child dies with it (PR_SET_PDEATHSIG) and leaves its log, one per port, forever. A failed
    start's log is evidence for as long as anyone reads it; a week later it is not. Every endpoint
    start prunes the cache's old ones."""
    cutoff = time.time() - older_than_s
    removed = 0
    for log in folder.glob("embedded-*.log"):
        try:
            if log.stat().st_mtime < cutoff:
                log.unlink()
                removed += 1
        except OSError:  # another endpoint removed it first, or it is not ours to remove
            continue
    return removed


CONTEXT_PER_SLOT = 8192  # SmolLM2's trained context: a QuALITY story (about 5,000 words) fits one slot


def served_models(
    registrations: dict[str, Path] | None = None,
    *,
    parallel: int = EMBEDDED_SLOTS,
    ctx_per_slot: int = CONTEXT_PER_SLOT,
    threads: int | None = None,
    simulate: tuple[float, int] | None = None,
    slot_affinity: bool = True,
    published_weights: bool = False,
) -> dict[str, ServedModel]:
    """The tags an endpoint serves: the built-in model plus any `TAG=PATH` registrations.

    With `simulate=(latency_per_token_s, tokens)` every tag is served by a `SimulatedEngine`.
    With `published_weights`, a built-in tag whose file is re-encoded serves the published file.
    """
    n_threads = threads or max(1, min(os.cpu_count() or 2, 8))
    models: dict[str, ServedModel] = {}

    def llama(path: Path) -> LlamaEngine:
        return LlamaEngine(path, n_ctx_per_slot=ctx_per_slot, parallel=parallel, threads=n_threads,
                           slot_affinity=slot_affinity)

    for tag, source in BUILTIN_MODELS.items():
        if simulate:
            engine = SimulatedEngine(latency_per_token_s=simulate[0], parallel=parallel, tokens=simulate[1])
            models[tag] = ServedModel(tag, lambda e=engine: e, digest="simulated", context=ctx_per_slot)
            continue
        as_published = published_weights and source.published_quantization is not None
        path = published_file(tag) if as_published else ensure_weights(tag)
        models[tag] = ServedModel(
            tag, lambda p=path: llama(p), digest=weights_digest(path), size=path.stat().st_size,
            family=source.family, parameter_size=source.parameter_size,
            quantization=source.published_quantization if as_published else source.quantization,
            context=ctx_per_slot,
        )
    for tag, path in (registrations or {}).items():
        models[tag] = ServedModel(
            tag, lambda p=path: llama(p), digest=sha256_of(path), size=path.stat().st_size, family="gguf",
            context=ctx_per_slot,
        )
    return models


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us when the parent dies (even by kill -9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def wait_until_ready(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise UserError(f"embedded endpoint exited with code {proc.returncode} before answering")
        try:
            if httpx.get(f"{url}/api/version", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise UserError(f"embedded endpoint at {url} did not answer within {timeout_s:.0f}s")


class EmbeddedEndpoint:
    """Context manager: an embedded endpoint in a child process on a free 127.0.0.1 port.

    Example:
        ```python
        with EmbeddedEndpoint(parallel=2, request_log=Path("calls.jsonl")) as url:
            ChatOllama(model="smollm2:135m", base_url=url).invoke("Hello")
        ```
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        parallel: int = EMBEDDED_SLOTS,
        request_log: Path | None = None,
        models: list[str] | None = None,
        simulate: str | None = None,
        startup_timeout_s: float = 180.0,
        slot_affinity: bool = True,
        published_weights: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.parallel = parallel
        self.request_log = request_log
        self.models = models or []
        self.simulate = simulate
        self.slot_affinity = slot_affinity
        self.published_weights = published_weights
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen | None = None
        self.log_path = cache_dir() / f"embedded-{self.port}.log"

    def start(self) -> str:
        if not self.simulate:
            ensure_weights(DEFAULT_MODEL)  # download in the parent so the user sees the message
        cmd = [sys.executable, "-m", "debatelab", "serve-embedded", "--port", str(self.port),
               "--parallel", str(self.parallel)]
        if self.request_log:
            cmd += ["--request-log", str(self.request_log)]
        for reg in self.models:
            cmd += ["--model", reg]
        if self.simulate:
            cmd += ["--simulate", self.simulate]
        if not self.slot_affinity:
            cmd += ["--no-slot-affinity"]
        if self.published_weights:
            cmd += ["--published-weights"]
        prune_stale_logs(self.log_path.parent)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()
        try:
            wait_until_ready(self.url, self.startup_timeout_s, self.proc)
        except UserError as exc:
            self.stop(keep_log=True)
            raise UserError(f"{exc}; what it printed is in {self.log_path}") from None
        return self.url

    def stop(self, *, keep_log: bool = False) -> None:
        """Stop the child; its log is removed unless it is evidence.

        One log per port would otherwise pile up in the cache (one file per run, forever). The
        log stays when asked (a failed start) or when the child had already died on its own with
        a non-zero code, so the user can read why.
        """
        died = self.proc is not None and self.proc.poll() not in (None, 0)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and not (keep_log or died):
            self.log_path.unlink(missing_ok=True)
        self.proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: EmbeddedEndpoint | None = None
_shared_lock = threading.Lock()
_shared_parallel = EMBEDDED_SLOTS
_registered: dict[str, Path] = {}  # tag -> GGUF file, from specs with `gguf:`


def register_gguf(tag: str, path: str | Path) -> None:
    """Serve `path` under `tag` from the on-demand endpoint (a spec's `gguf:` field).

    Registered before the endpoint starts (preflight registers every spec first); a registration
    that arrives later restarts the on-demand endpoint with the larger set of models.
    """
    p = Path(path).expanduser().resolve()
    if _registered.get(tag) == p:
        return  # already checked: resolve_host registers on every call, preflight once before them
    if not p.is_file():
        raise UserError(f"model {tag}: GGUF file {p} not found; fix the `gguf` path in the configuration")
    check_gguf(p)
    if tag in BUILTIN_MODELS:
        raise UserError(f"model {tag}: that tag is the built-in model; give your GGUF file another tag")
    with _shared_lock:
        known = _registered.get(tag)
        if known is not None and known != p:
            raise UserError(f"model {tag} is given two GGUF files ({known} and {p}); use one file per tag")
        _registered[tag] = p


def registered_ggufs() -> dict[str, Path]:
    return dict(_registered)


def set_embedded_parallel(parallel: int) -> None:
    """How many slots the on-demand endpoint gets (set before its first use)."""
    global _shared_parallel
    _shared_parallel = max(1, parallel)


def running_embedded_host() -> str | None:
    """The URL `embedded` stands for if it is known now, without starting anything."""
    explicit = os.environ.get(ENV_HOST, "").strip()
    if explicit:
        return explicit.rstrip("/")
    return _shared.url if _shared is not None else None


def resolve_embedded_host() -> str:
    """URL for the host word `embedded`: $DEBATELAB_EMBEDDED_HOST, else an on-demand child."""
    explicit = os.environ.get(ENV_HOST, "").strip()
    if explicit:
        return explicit.rstrip("/")
    global _shared
    with _shared_lock:
        wanted = [f"{tag}={path}" for tag, path in sorted(_registered.items())]
        if _shared is not None and _shared.models != wanted:
            _shared.stop()  # a GGUF was registered after the start: serve it too
            _shared = None
        if _shared is None:
            endpoint = EmbeddedEndpoint(parallel=_shared_parallel, models=wanted)
            endpoint.start()
            atexit.register(endpoint.stop)
            _shared = endpoint
        return _shared.url
