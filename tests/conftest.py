"""Shared fixtures: one real embedded endpoint per test session, with a request log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from debatelab.agents.embedded import EmbeddedEndpoint

ROOT = Path(__file__).resolve().parent.parent  # tests never depend on the directory they run from

# CI draws the same examples every run (a failure is reproducible from its log); locally hypothesis
# explores new ones each time.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory):
    """A real embedded endpoint (SmolLM2-135M, 4 slots) and the path of its request log."""
    log = tmp_path_factory.mktemp("embedded") / "requests.jsonl"
    with EmbeddedEndpoint(parallel=4, request_log=log) as url:
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


def run_cli(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run `debatelab ARGS` as a user would (a subprocess), with extra environment variables."""
    return subprocess.run([sys.executable, "-m", "debatelab", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
