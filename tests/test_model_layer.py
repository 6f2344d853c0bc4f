"""Model specs, the ChatOllama factory, preflight and the weights cache: errors included."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from debatelab.agents import ModelSpec, check_models, make_chat_model, require_models, resolve_host
from debatelab.agents.embedded.weights import check_gguf, parse_model_registration
from debatelab.base import ModelUnavailableError, UserError
from tests.conftest import run_cli


def test_parse_tag_and_host():
    spec = ModelSpec.parse("deepseek-r1:8b@http://gpu-box:11434/")
    assert spec.model == "deepseek-r1:8b" and spec.host == "http://gpu-box:11434"
    assert ModelSpec.parse("smollm2:135m@embedded").host == "embedded"
    assert ModelSpec.parse("phi3:3.8b").host is None
    with pytest.raises(ValueError):
        ModelSpec.parse("x@ftp://nope")


def test_factory_sets_timeout_and_num_ctx(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    spec = ModelSpec(model="mistral:7b", temperature=0.7, top_p=0.9, num_predict=200, seed=3, timeout=42)
    chat = make_chat_model(spec)
    assert chat.base_url == "http://127.0.0.1:11434"
    timeout = httpx.Timeout(42, connect=10)  # a generation may take 42 s; a connection at most 10 s
    assert chat.client_kwargs == {"timeout": timeout, "verify": False}  # plain HTTP: no CA bundle to load
    assert make_chat_model(spec.model_copy(update={"host": "https://gpu-box"})).client_kwargs == {"timeout": timeout}
    assert chat.num_ctx == 4096 and chat.num_predict == 200 and chat.seed == 3


def test_ollama_host_env(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:11434")
    assert resolve_host(ModelSpec(model="x")) == "http://gpu-box:11434"


def test_malformed_spec_in_yaml_names_file_and_field(tmp_path: Path):
    f = tmp_path / "m.yaml"
    f.write_text("model: phi3\ntemperature: hot\n")
    with pytest.raises(UserError, match=r"m.yaml: field 'temperature'"):
        ModelSpec.from_yaml(f)
    f.write_text("model: phi3\n  bad: [\n")
    with pytest.raises(UserError, match=r"m.yaml: line \d+"):
        ModelSpec.from_yaml(f)


def test_preflight_unreachable_host_names_url():
    spec = ModelSpec(model="phi3:3.8b", host="http://127.0.0.1:9")
    checks = check_models([spec], resolve_host)
    assert not checks[0].available
    with pytest.raises(ModelUnavailableError, match="127.0.0.1:9.*ollama serve"):
        require_models([spec], resolve_host)


@pytest.mark.real_model
def test_preflight_missing_model_names_pull_command(embedded):
    url, _ = embedded
    ok = ModelSpec(model="smollm2:135m", host=url)
    missing = ModelSpec(model="deepseek-r1:8b", host=url)
    with pytest.raises(ModelUnavailableError, match="ollama pull deepseek-r1:8b"):
        require_models([ok, missing], resolve_host)
    assert require_models([ok], resolve_host) == []  # no problem, no warning
    assert check_models([ok], resolve_host)[0].available


def test_corrupt_or_missing_gguf(tmp_path: Path):
    with pytest.raises(UserError, match="not found"):
        check_gguf(tmp_path / "none.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"nonsense")
    with pytest.raises(UserError, match="not a GGUF"):
        check_gguf(bad)
    good_header = tmp_path / "x.gguf"
    good_header.write_bytes(b"GGUF" + b"\0" * 10)
    with pytest.raises(UserError, match="corrupt"):
        check_gguf(good_header, expected_sha256="0" * 64)
    with pytest.raises(UserError, match="TAG=PATH"):
        parse_model_registration("justapath.gguf")


def test_cli_models_dead_host_is_one_line_nonzero():
    proc = run_cli("models", "--host", "http://127.0.0.1:9")
    assert proc.returncode != 0
    assert "127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.real_model
def test_cli_port_in_use(embedded):
    url, _ = embedded
    port = url.rsplit(":", 1)[1]
    proc = run_cli("serve-embedded", "--port", port)
    assert proc.returncode != 0
    assert "already in use" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.real_model
def test_cli_models_lists_embedded(embedded_env):
    url, _ = embedded_env
    proc = run_cli("models", "--host", url)
    assert proc.returncode == 0, proc.stderr
    assert "smollm2:135m" in proc.stdout


def test_cli_models_config_preflight_lists_each_model():
    proc = run_cli("models", "--config", "configs/paper/lightweight.yaml", "--host", "http://127.0.0.1:9")
    assert proc.returncode != 0 and "127.0.0.1:9" in proc.stderr and "Traceback" not in proc.stderr
    for tag in ("deepseek-r1:7b", "mistral:7b", "phi3:3.8b"):
        assert tag in proc.stdout
