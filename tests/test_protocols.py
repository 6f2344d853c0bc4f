"""Oversight protocols are registered objects: the built-ins keep 0.3's behaviour, langgraph.json
lists exactly the registry's graphs, and a protocol from a plugin package (entry point
`debatelab.protocols`) runs in `kind: oversight` without editing debatelab."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml

from debatelab.base import UserError
from debatelab.graphs import all_protocols, available_topologies, builtin_protocol_names, forget_protocol_plugins
from debatelab.studies import load_experiment
from tests.test_oversight import experiment, run

ROOT = Path(__file__).resolve().parent.parent
PKG = Path(__file__).parent / "example_protocol_pkg"


def test_the_builtin_protocols_and_what_they_are() -> None:
    p = all_protocols()
    assert list(p)[:7] == ["naive", "expert", "consultancy", "debate", "interactive_debate", "open_consultancy",
                           "open_debate"]
    assert [n for n, x in p.items() if x.cross_play] == ["consultancy", "debate"]
    assert [n for n, x in p.items() if x.chooses] == ["open_consultancy", "open_debate"]
    assert [n for n, x in p.items() if not x.needs_passage] == ["naive"]
    assert sorted(p, key=lambda n: p[n].informed_rank) == ["expert", "interactive_debate", "debate", "open_debate",
                                                          "consultancy", "open_consultancy", "naive"]


def test_langgraph_json_lists_the_registry() -> None:
    graphs = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
    shipped = {n for n in available_topologies() if (ROOT / "configs" / "embedded" / f"{n}.yaml").is_file()}
    expected = shipped | {"judging"} | {f"oversight_{n}" for n in builtin_protocol_names()}
    assert set(graphs) == expected
    assert all(v == f"debatelab.graphs.studio:{k}" for k, v in graphs.items())


def test_an_unknown_protocol_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"ov.yaml: field 'protocols.0': unknown oversight protocol 'hearsay'"):
        load_experiment(experiment(tmp_path, protocols=["hearsay"]))


def test_a_plugin_protocol_runs_in_an_oversight_experiment(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    dist = site / "debatelab_example_protocol-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: debatelab-example-protocol\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[debatelab.protocols]\nhearsay = debatelab_example_protocol:hearsay\n")
    (site / "debatelab_example_protocol.py").write_text((PKG / "debatelab_example_protocol.py").read_text())
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    forget_protocol_plugins()
    try:
        path = experiment(tmp_path, protocols=["hearsay", "naive"], judges=["judge-believer"],
                          debaters=["honest", "quoter"], rounds=1)
        calls: list[str] = []
        report = run(path, tmp_path / "r.db", calls)
        rows = {r["protocol"]: r for r in report["oversight"] if not r.get("side")}
        assert {"hearsay", "naive"} <= set(rows)
        # The headline is consultant 1 on 4 questions, on both sides; consultant 2 is a matchup of its own.
        assert (rows["hearsay"]["n"], rows["hearsay"]["verdicts"]) == (4, 8)
        assert [(m["matchup"], m["n"]) for m in report["oversight_matchups"] if m["protocol"] == "hearsay"] == [("c1", 4)]
        split = [r for r in report["oversight"] if r["protocol"] == "hearsay" and r.get("side")]
        assert {r["side"] for r in split} == {"correct", "incorrect"}  # a consultancy: split by side
        assert calls.count("honest") + calls.count("quoter") == 16  # 4 questions x 2 consultants x 2 sides
        data = yaml.safe_load(path.read_text())
        assert data["protocols"][0] == "hearsay"
    finally:
        forget_protocol_plugins()
