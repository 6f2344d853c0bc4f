"""QuALITY's release format, passages against a model's context, and closed questions.

The QuALITY fixture is one article written in the documented format (tests/fixtures/quality/).
Context checks use a stated context, so every refusal and cut is predictable; closed questions run
on scripted agents (tests/test_oversight.py's), whose prompts are read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec, estimate_tokens
from debatelab.base import UserError
from debatelab.experiments.passage_fit import check_fit, cut_passages, truncate
from debatelab.scenarios import QualityFilters, Question, read_quality, strip_html
from tests.conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "quality" / "sample.jsonl"


def test_html_is_stripped_with_paragraph_breaks_kept():
    text = strip_html("<h1>T</h1><p>Ada lit the lamp at <i>nine</i>.</p>\n<p>Tom\nfixed it.</p>")
    assert text == "T\n\nAda lit the lamp at nine.\n\nTom fixed it."


def test_two_options_are_the_gold_and_the_annotators_best_distractor():
    qs = {q.id: q for q in read_quality(FIXTURE)}
    assert set(qs) == {"lamp-1", "lamp-2", "lamp-3", "lamp-4"}
    assert sorted(qs["lamp-1"].options) == ["At dawn", "At nine"]  # distractor votes 2, 2, 3: option 2
    assert qs["lamp-1"].option_text(qs["lamp-1"].answer) == "At nine"
    # lamp-2: votes 1, 3, 1, 3 tie between options 1 and 3; the stored seed decides, the same each time.
    tie = {read_quality(FIXTURE, seed=s)[1].options[0] + read_quality(FIXTURE, seed=s)[1].options[1] for s in (0, 0)}
    assert len(tie) == 1
    assert qs["lamp-1"].passage.startswith("The Lamp\n\nAda lit the lamp at nine every night.")
    assert all(q.passage == qs["lamp-1"].passage for q in qs.values())  # one story: one cluster


def test_hard_selects_difficult_and_the_other_filters_are_separate():
    assert [q.id for q in read_quality(FIXTURE, QualityFilters(hard=True))] == ["lamp-1", "lamp-3"]
    assert [q.id for q in read_quality(FIXTURE, QualityFilters(untimed_accuracy=True))] == ["lamp-1", "lamp-2", "lamp-4"]
    assert [q.id for q in read_quality(FIXTURE, QualityFilters(answerable=True))] == ["lamp-1", "lamp-2", "lamp-3"]
    assert [q.id for q in read_quality(FIXTURE, QualityFilters(context_required=1.5))] == ["lamp-1", "lamp-2", "lamp-3"]
    assert len(read_quality(FIXTURE, QualityFilters(per_story=2))) == 2
    four = read_quality(FIXTURE, QualityFilters(options=4))
    assert len(four[0].options) == 4 and four[2].answer == "C"
    with pytest.raises(UserError, match="no question of the file passes"):
        read_quality(FIXTURE, QualityFilters(hard=True, untimed_accuracy=True, answerable=True, context_required=3))


def test_a_cut_passage_says_so_and_keeps_whole_paragraphs():
    passage = "\n\n".join(f"Paragraph {i} " + "word " * 50 for i in range(40))
    text, share = truncate(passage, 500)
    assert estimate_tokens(text) <= 500 and 0.1 < share < 0.5
    assert text.endswith(f"[The passage is cut here: {share:.0%} of it is shown, the rest is not.]")
    assert text.split("\n\n[The passage")[0].endswith("word")  # cut at a paragraph end
    assert truncate("short", 500) == ("short", 1.0)
    qs, stats = cut_passages([Question(id="a", question="q?", options=["x", "y"], answer="A", passage=passage)], 500)
    assert stats["truncated"] == 1 and stats["mean_share_kept"] == round(share, 4)


def test_a_passage_too_long_for_the_context_is_refused_in_one_line(monkeypatch):
    import debatelab.experiments.passage_fit as fit

    monkeypatch.setattr(fit, "context_tokens", lambda spec, url, embedded: (2048, "the model's num_ctx option"))
    monkeypatch.setattr(fit, "resolve_host", lambda spec: "http://127.0.0.1:9")
    long = Question(id="long-1", question="q?", options=["x", "y"], answer="A", passage="word " * 3000)
    with pytest.raises(UserError) as err:
        check_fit("exp.yaml", [long], ["naive", "expert"], 2, 80, [ModelSpec(model="d:1")], [ModelSpec(model="j:1")])
    line = str(err.value)
    assert "\n" not in line and "question 'long-1'" in line and "2048-token context of j:1" in line
    assert "num_ctx" in line and "passage: {max_tokens: N}" in line
    check_fit("exp.yaml", [long.model_copy(update={"passage": "word " * 100})], ["naive", "expert", "debate"], 2, 80,
              [ModelSpec(model="d:1")], [ModelSpec(model="j:1")])  # fits: no error


def test_the_embedded_endpoint_states_its_slot(simulated):
    import httpx

    url, _ = simulated
    shown = httpx.post(f"{url}/api/show", json={"model": "smollm2:135m"}).json()
    assert shown["parameters"] == "num_ctx 8192"


def test_closed_questions_run_symmetric_without_a_passage(tmp_path):
    from tests.test_oversight import ITEMS, run

    closed = [{k: v for k, v in i.items() if k != "passage"} for i in ITEMS]
    items = tmp_path / "closed.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in closed))
    spec = {"name": "closed", "kind": "oversight", "questions": {"set": str(items)}, "protocols": ["naive", "expert",
            "debate"], "debaters": "honest", "judges": ["judge-always-a"], "rounds": 1, "shuffle_options": False}
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = run(path, tmp_path / "c.db", [])
    assert report["information"] == "symmetric" and {r["information"] for r in report["oversight"]} == {"symmetric"}
    assert "Information: symmetric" in (tmp_path / "rep" / "report.md").read_text()
    mixed = [*closed[:2], ITEMS[2]]
    items.write_text("".join(json.dumps(i) + "\n" for i in mixed))
    done = run_cli("run", str(path), "--db", str(tmp_path / "m.db"), "--checkpoints", str(tmp_path / "m.sqlite"))
    assert done.returncode == 2 and "while others have one" in done.stderr


def test_data_fetch_quality_keeps_the_release_with_its_checksum(tmp_path):
    import hashlib
    import zipfile

    archive = tmp_path / "QuALITY.v1.0.1.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURE, "QuALITY.v1.0.1/QuALITY.v1.0.1.htmlstripped.dev")
    to = tmp_path / "q"
    done = run_cli("data", "fetch", "quality", "--to", str(to), env={"DEBATELAB_QUALITY_URL": str(archive)})
    assert done.returncode == 0, done.stderr
    prov = json.loads((to / "PROVENANCE.json").read_text())
    assert prov["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest() and "CC BY 4.0" in prov["licence"]
    from debatelab.scenarios import quality_file

    assert quality_file(to, "dev").name == "QuALITY.v1.0.1.htmlstripped.dev"
    again = run_cli("data", "fetch", "quality", "--to", str(to), env={"DEBATELAB_QUALITY_URL": str(archive)})
    assert again.returncode == 2 and "exists and is not empty" in again.stderr
