"""Shared fixtures: one real embedded endpoint per test session, with a request log."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

from debatelab.agents.embedded import EmbeddedEndpoint
from tests.cli_process import run_forked, start_forked

ROOT = Path(__file__).resolve().parent.parent  # tests never depend on the directory they run from

# CI draws the same examples every run (a failure is reproducible from its log); locally hypothesis
# explores new ones each time.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Under pytest-xdist (`-n`), every test of the real model runs in one worker, so the session
    starts one real endpoint and no two llama.cpp processes share the cores; the rest spread."""
    for item in items:
        if item.get_closest_marker("real_model") or "embedded" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("real_model"))
    return (yield)


def _claim_the_real_endpoint(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under pytest-xdist, fail loudly if a second worker starts a real endpoint: the real-model
    tests were meant to share one (two llama.cpp processes on two cores make both many times slower),
    and a pytest-xdist that stops grouping would otherwise only make the suite slow."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    claim = tmp_path_factory.getbasetemp().parent / "real-endpoint-worker"
    try:  # a session fixture starts once per worker: a claim already there is another worker's
        with claim.open("x") as f:
            f.write(worker)
    except FileExistsError:
        pytest.fail(f"the real-model tests run in two workers ({claim.read_text()} and {worker}): pytest-xdist's "
                    "--dist loadgroup is not grouping them (pytest 9.2: pytest-dev/pytest-xdist#1386)")


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory):
    """A real embedded endpoint (SmolLM2-135M, 4 slots) and the path of its request log."""
    _claim_the_real_endpoint(tmp_path_factory)
    log = tmp_path_factory.mktemp("embedded") / "requests.jsonl"
    with EmbeddedEndpoint(parallel=4, request_log=log) as url:
        yield url, log


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    """The embedded HTTP server over its simulated engine (20 seeded words at 1 ms each, valid JSON
    for structured calls) and the path of its request log: for tests of what happens around the
    model (routes, resume, servers), whose outcome the model's words do not change."""
    log = tmp_path_factory.mktemp("simulated") / "requests.jsonl"
    with EmbeddedEndpoint(parallel=4, request_log=log, simulate="0.001:20") as url:
        yield url, log


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def embedded_env(embedded, monkeypatch: pytest.MonkeyPatch):
    """Points the host word `embedded` at the session endpoint."""
    url, log = embedded
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", url)
    return url, log


@pytest.fixture
def simulated_env(simulated, monkeypatch: pytest.MonkeyPatch):
    """Points the host word `embedded` at the session's simulated endpoint."""
    url, log = simulated
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", url)
    return url, log


def run_cli(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run `debatelab ARGS` as a user would, in a process of its own, with extra environment variables.

    The process is a fork of a server that has the CLI's modules imported already (tests/cli_process.py):
    the same exit status and output as `python -m debatelab ARGS`, without its 1.5-4 s of imports."""
    code, stdout, stderr = run_forked(list(args), {**os.environ, **(env or {})}, timeout)
    return subprocess.CompletedProcess(["debatelab", *args], code, stdout, stderr)


def spawn_cli(*args: str, env: dict | None = None, output: Path):
    """Start `debatelab ARGS` in a process of its own and return it (`pid`, `exitcode` while None it
    runs, `kill()`, `join()`): for tests that kill a run with SIGKILL. Its stdout and stderr go to
    `output`.stdout and `output`.stderr."""
    return start_forked(list(args), {**os.environ, **(env or {})}, output.with_suffix(".stdout"),
                        output.with_suffix(".stderr"))
