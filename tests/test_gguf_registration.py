"""Registering another GGUF file under a tag from a configuration (`gguf:` in a model spec)."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec
from debatelab.agents.embedded import ensure_weights, launcher
from debatelab.base import UserError
from debatelab.graphs import load_debate_config
from tests.conftest import ROOT, run_cli


def test_gguf_needs_the_embedded_host_and_names_the_field(tmp_path: Path):
    cfg = yaml.safe_load((ROOT / "configs/embedded/adversarial.yaml").read_text())
    cfg["agents"]["proponent"]["model"] = {"model": "mine:1b", "host": "http://127.0.0.1:11434", "gguf": "x.gguf"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(UserError, match=r"c\.yaml.*agents\.proponent\.model.*only for host 'embedded'"):
        load_debate_config(path)


def test_fingerprints_of_specs_without_gguf_do_not_change():
    """Existing debates' thread ids hold these fingerprints; adding the field must not move them."""
    spec = ModelSpec(model="smollm2:135m", host="embedded", temperature=0.7)
    # the fields of 0.1's spec (provider, base_url and api_key_env came later and are left out at their defaults)
    later = {"timeout", "keep_alive", "hosts", "gguf", "provider", "base_url", "api_key_env"}
    old_dump = spec.model_dump(exclude=later)
    expected = hashlib.sha256(json.dumps(old_dump, sort_keys=True).encode()).hexdigest()[:12]
    assert spec.fingerprint(legacy=True) == expected  # 0.1's ids are still found (tests/test_store_upgrade.py)
    gguf = ModelSpec(model="smollm2:135m", host="embedded", temperature=0.7, gguf="/m.gguf")
    assert gguf.fingerprint(legacy=True) != expected and gguf.fingerprint() != spec.fingerprint()


def test_the_host_is_not_part_of_a_models_identity():
    """Moving a model to another host, or serving it from a pool, keeps every id."""
    here = ModelSpec(model="smollm2:135m", host="embedded", temperature=0.7)
    for there in (here.model_copy(update={"host": "http://gpu-b:11434"}),
                  here.model_copy(update={"hosts": ("http://a:11434", "http://b:11434")}), ModelSpec(
                      model="smollm2:135m", temperature=0.7)):
        assert there.fingerprint() == here.fingerprint() and there.identity == "smollm2:135m"
    assert here.model_copy(update={"temperature": 0.2}).fingerprint() != here.fingerprint()


def test_register_gguf_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(launcher, "_registered", {})
    with pytest.raises(UserError, match="not found; fix the `gguf` path"):
        launcher.register_gguf("mine:1b", tmp_path / "none.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"nonsense")
    with pytest.raises(UserError, match="not a GGUF"):
        launcher.register_gguf("mine:1b", bad)
    good = tmp_path / "a.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 16)
    other = tmp_path / "b.gguf"
    other.write_bytes(b"GGUF" + b"\0" * 16)
    with pytest.raises(UserError, match="built-in model"):
        launcher.register_gguf("smollm2:135m", good)
    launcher.register_gguf("mine:1b", good)
    launcher.register_gguf("mine:1b", good)  # the same file twice is fine
    with pytest.raises(UserError, match="two GGUF files"):
        launcher.register_gguf("mine:1b", other)
    assert launcher.registered_ggufs() == {"mine:1b": good.resolve()}


@pytest.mark.real_model
def test_config_registers_a_gguf_and_a_debate_runs_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An agent on `mysmol:135m` (the cached SmolLM2 file under a tag of the user's choosing): the
    on-demand endpoint serves it, preflight passes, the debate runs, and the transcript names it."""
    cfg = yaml.safe_load((ROOT / "configs/embedded/adversarial.yaml").read_text())
    cfg["rounds"] = 1
    cfg["defaults"]["num_predict"] = 24
    cfg["agents"]["opponent"]["model"].update({"model": "mysmol:135m", "gguf": str(ensure_weights("smollm2:135m"))})
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.delenv("DEBATELAB_EMBEDDED_HOST", raising=False)  # use the on-demand endpoint
    cli = functools.partial(run_cli, timeout=300)

    listed = cli("models", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    assert "mysmol:135m" in listed.stdout and "smollm2:135m" in listed.stdout
    done = cli("debate", str(path), "ubi-ai-unemployment", "--scenarios", "paper", "--json", "--checkpoints",
               str(tmp_path / "cp.sqlite"))
    assert done.returncode == 0, done.stderr[-1500:]
    turns = json.loads(done.stdout)["turns"]
    assert {t["model"] for t in turns if t["agent"] == "opponent"} == {"mysmol:135m@embedded"}


def test_judges_may_be_specs_and_default_to_temperature_zero():
    from debatelab.experiments.spec import Judging

    judging = Judging(judges=["deepseek-r1:8b", {"model": "mine:1b", "host": "embedded", "gguf": "/m.gguf",
                                                 "temperature": 0.3}])
    plain, mine = judging.judge_specs()
    assert (plain.model, plain.temperature, plain.seed) == ("deepseek-r1:8b", 0.0, 0)
    assert (mine.gguf, mine.temperature, mine.seed) == ("/m.gguf", 0.3, 0)
