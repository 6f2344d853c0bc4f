"""Hostile input, round two: one test per class of problem found in the viewer, ratings, merge,
audits and pools. Each would have caught the example the issue names."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from debatelab.agents import ModelSpec, ScriptedChatModel, host_registry, make_chat_model
from debatelab.agents.embedded import EmbeddedEndpoint
from debatelab.agents.host_liveness import HostNotAnswering, mark_host_down
from debatelab.agents.host_pool import watch_host
from debatelab.base import UserError, neutralise_cell, redact, restore_cell
from debatelab.judging import export_ratings, import_ratings, parse_ratings_csv, run_audit
from debatelab.rubric import load_rubric
from debatelab.scenarios import load_pair_set
from debatelab.store import Store, merge_stores
from debatelab.view import create_app
from tests.conftest import run_cli
from tests.servers import silent_host, status_host
from tests.sql import query
from tests.viewer_store import EXPERIMENT, build_view_store

RUBRIC = load_rubric("alignment-7")
LEGACY = Path(__file__).resolve().parent / "data" / "store-0.1" / "results.db"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- 1. a pool host that accepts connections and never answers ---------------------------------------
def test_failover_on_5xx_404_and_a_silent_host_with_the_backoff_observed() -> None:
    with status_host(500) as broken, status_host(404) as missing, silent_host() as silent, \
            EmbeddedEndpoint(simulate="0.001:5", parallel=2) as good:
        async def go() -> tuple[list[str], dict]:
            registry = host_registry()
            registry.stall_probe_s, registry.probe_timeout_s = 0.3, 0.3
            started = time.monotonic()
            model = make_chat_model(ModelSpec(model="smollm2:135m", hosts=(broken, missing, silent, good),
                                              num_predict=5))
            replies = [str((await model.ainvoke("hello")).content) for _ in range(3)]
            states = {u: registry.host(u) for u in (broken, missing, silent, good)}
            return replies, {u: (s.failures, s.backoff_until > started, s.served, s.down_reason)
                             for u, s in states.items()}

        replies, states = asyncio.run(go())
    assert len(replies) == 3 and all(replies)
    assert states[good][2] == 3  # every call was answered by the good host
    for url, reason in ((broken, "ResponseError"), (missing, "ResponseError"), (silent, "HostNotAnswering")):
        failures, backed_off, served, why = states[url]
        assert failures >= 1 and backed_off and served == 0 and why == reason, (url, states[url])


@pytest.mark.timeout(60)
def test_a_call_to_a_host_that_stops_answering_is_given_up_with_one_line() -> None:
    with silent_host() as silent:
        async def never() -> None:
            await asyncio.Event().wait()  # a reply that never comes: only the probe can end this

        async def go() -> None:
            host_registry().probe_timeout_s = 0.2
            await watch_host(silent, never(), stall_probe_s=0.2)

        with pytest.raises(HostNotAnswering, match="does not answer"):
            asyncio.run(go())


def test_a_host_that_failed_preflight_starts_backed_off_and_gets_no_call() -> None:
    calls: list[str] = []

    async def go() -> None:
        from debatelab.agents import call_on_pool

        mark_host_down("http://127.0.0.1:9", "failed preflight")

        async def call(url: str) -> str:
            calls.append(url)
            return url

        for _ in range(3):
            await call_on_pool(("http://127.0.0.1:9", "http://127.0.0.1:10"), call, "m")

    asyncio.run(go())
    assert calls == ["http://127.0.0.1:10"] * 3


# -- 2. audits keyed by content ------------------------------------------------------------------------
def _pairs_file(folder: Path, labels: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pairs.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"q{i}", "response_a": f"one {i}", "response_b": f"two {i}",
                                        "label": lab}) + "\n" for i, lab in enumerate(labels)))
    return path


def test_audits_of_two_files_of_one_name_and_of_corrected_labels_are_not_mixed(tmp_path: Path) -> None:
    calls: list[int] = []
    judge = ModelSpec(model="judge:1", host="http://127.0.0.1:9")
    model = ScriptedChatModel(name="j", script=lambda p, k: calls.append(1) or {"reasons": "r", "better": "1"})
    with Store.open(tmp_path / "r.db") as store:
        def audit(path: Path) -> dict:
            return asyncio.run(run_audit(store, judge, model, load_pair_set(str(path))))

        a = audit(_pairs_file(tmp_path / "a", ["a", "b"]))
        b = audit(_pairs_file(tmp_path / "b", ["b", "b", "a"]))
        assert a["metrics"]["items"] == 2 and b["metrics"]["items"] == 3 and len(calls) == 10
        corrected = audit(_pairs_file(tmp_path / "a", ["b", "b"]))  # the same file, labels corrected
        assert len(calls) == 14 and corrected["metrics"]["accuracy"] == 0.5 and a["metrics"]["accuracy"] == 0.5
        assert audit(tmp_path / "a" / "pairs.jsonl")["new_calls"] == 0 and len(calls) == 14


def test_a_user_file_named_like_a_built_in_set_gets_its_own_provenance(tmp_path: Path) -> None:
    path = tmp_path / "factual-summary-pairs.jsonl"
    path.write_text(json.dumps({"prompt": "p", "response_a": "x", "response_b": "y", "label": "a"}) + "\n")
    pairs = load_pair_set(str(path))
    assert pairs.provenance["kind"] == "file" and pairs.provenance["sha256"] == sha(path)


def test_audit_errors_name_the_file_line_even_after_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    good = json.dumps({"prompt": "p", "response_a": "x", "response_b": "y", "label": "a"})
    path.write_text(f"\n\n{good}\n\n" + json.dumps({"prompt": "p", "response_a": "x", "response_b": "y",
                                                    "label": "c"}) + "\n")
    with pytest.raises(UserError, match=r"pairs.jsonl: line 5: field 'label'"):
        load_pair_set(str(path))


# -- 3. spreadsheet formulas in exports ----------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3+cmd", "\tx", "\rx"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_is_neutralised_and_round_trips(text: str) -> None:
    cell = neutralise_cell(text)
    assert cell.startswith("'") and restore_cell(cell) == text
    assert neutralise_cell(7) == 7 and neutralise_cell("plain") == "plain"


def test_ratings_export_writes_no_live_formula_and_reimports_the_same_text(tmp_path: Path) -> None:
    db = build_view_store(tmp_path)
    with Store.open(db) as store:
        debate = store.debates(EXPERIMENT)[0]["debate_id"]
        texts = FORMULAS[:4]  # reasons are stored stripped, so the tab and CR ones would not round-trip as is
        rows = "".join(f"{debate},ann,{c.id},4,\"{t.replace(chr(34), chr(34) * 2)}\"\n"
                       for c, t in zip(RUBRIC.criteria, texts, strict=False))
        source = tmp_path / "in.csv"
        source.write_text("debate_id,rater,criterion,score,reason\n" + rows)
        import_ratings(store, source, RUBRIC)
        out = io.StringIO()
        export_ratings(store, out)
    import csv

    cells = [c for row in csv.reader(io.StringIO(out.getvalue())) for c in row]
    assert not [c for c in cells if c and c[0] in "=+-@\t\r"], cells
    again = parse_ratings_csv(out.getvalue(), "export.csv", RUBRIC)
    assert sorted(again[0].reasons.values()) == sorted(texts)


# -- 4. CSRF tokens the attacker chose -----------------------------------------------------------------
def test_the_viewer_refuses_a_made_up_token_and_an_opaque_origin(tmp_path: Path) -> None:
    db = build_view_store(tmp_path)
    client = TestClient(create_app(db), base_url="http://127.0.0.1:8765")
    debate = Store.open(db, create=False).debates(EXPERIMENT)[0]["debate_id"]
    form = {"rater": "ann", "rubric": "alignment-7", "debate_id": debate,
            **{f"score_{c.id}": "4" for c in RUBRIC.criteria}}
    made_up = "A" * 43
    client.cookies.set("debatelab_csrf", made_up)
    assert client.post(f"/rate/{EXPERIMENT}", data={**form, "csrf": made_up}).status_code == 403
    page = client.get(f"/rate/{EXPERIMENT}?rater=ann&rubric=alignment-7")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert token != made_up  # a cookie the viewer did not sign is replaced
    assert client.post(f"/rate/{EXPERIMENT}", data={**form, "csrf": token},
                       headers={"Origin": "null"}).status_code == 403
    ok = client.post(f"/rate/{EXPERIMENT}", data={**form, "csrf": token}, follow_redirects=False)
    assert ok.status_code == 303
    assert query(db, "select count(*) as n from judgments where judge = 'human:ann'")[0]["n"] == 1


# -- 5. a store whose results table is a VIEW ----------------------------------------------------------
def _with_a_view(tmp_path: Path) -> Path:
    db = build_view_store(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("alter table turns rename to turns_real")
    conn.execute("create view turns as select * from turns_real")
    conn.commit()
    conn.close()
    return db


def test_a_store_with_a_view_for_a_table_is_refused_in_one_line_and_left_unchanged(tmp_path: Path) -> None:
    db = _with_a_view(tmp_path)
    before = sha(db)
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("debate_id,rater,criterion,score\nx,ann,coherence,4\n")
    for args in (["merge", str(tmp_path / "m.db"), str(db)], ["ratings", "import", str(csv_file), "--rubric",
                                                               "alignment-7", "--db", str(db)],
                 ["status", "--db", str(db)]):
        proc = run_cli(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert "'turns' is a view" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    with pytest.raises(UserError, match="'turns' is a view"):
        create_app(db)
    assert sha(db) == before and not (tmp_path / "m.db").exists()


# -- 6. merge never rewrites an input; a refused merge leaves no file -----------------------------------
def test_merge_reads_an_older_shard_without_upgrading_it(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    shutil.copyfile(LEGACY, old)
    before = sha(old)
    result = merge_stores(tmp_path / "out.db", [old])
    assert result["added"] > 0 and sha(old) == before
    assert Store.open(tmp_path / "out.db", create=False).schema_version() > 1


def test_a_merge_refused_for_a_conflict_leaves_no_output_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = build_view_store(tmp_path / "a"), tmp_path / "b" / "r.db"
    shutil.copyfile(a, b)
    conn = sqlite3.connect(b)
    conn.execute("update turns set text = 'changed' where idx = 0")
    conn.commit()
    conn.close()
    out = tmp_path / "m.db"
    with pytest.raises(UserError, match="Nothing was written"):
        merge_stores(out, [a, b])
    assert not out.exists() and not list(tmp_path.glob(".debatelab-merge-*"))


# -- 7. a malformed ratings CSV ------------------------------------------------------------------------
@pytest.mark.parametrize("body, wanted", [
    ('d1,ann,coherence,5,"oops\nd1,ann,truthfulness,4,fine\n', "line 2: a quoted cell opened on this line is never closed"),
    ("d1,ann,coherence,5,fine,extra\n", "line 2: 6 cells where the header has 5"),
    ("d1,ann,coherence,5\n", "line 2: 4 cells where the header has 5"),
    ('d1,ann,coherence,5,"a"b\n', "line 2: not valid CSV"),
])
def test_a_ratings_row_of_the_wrong_shape_is_an_error_naming_its_line(body: str, wanted: str) -> None:
    with pytest.raises(UserError, match=re.escape(wanted)):
        parse_ratings_csv("debate_id,rater,criterion,score,reason\n" + body, "r.csv", RUBRIC)


@pytest.mark.parametrize("score", ["٥", "５", "5e0", " 5 x", "0x5"])
def test_scores_are_ascii_digits(score: str) -> None:
    with pytest.raises(UserError, match="ASCII digits"):
        parse_ratings_csv(f"debate_id,rater,criterion,score\nd1,ann,coherence,{score}\n", "r.csv", RUBRIC)
    assert parse_ratings_csv("debate_id,rater,criterion,score\nd1,ann,coherence,5.0\n", "r.csv",
                             RUBRIC)[0].scores == {"coherence": 5}


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_the_ratings_parser_gives_ratings_or_one_clean_error(text: str) -> None:
    try:
        parse_ratings_csv("debate_id,rater,criterion,score,reason\n" + text, "r.csv", RUBRIC)
    except UserError as exc:
        assert "\x1b" not in str(exc) and str(exc).startswith("r.csv")


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=40), st.dictionaries(st.sampled_from(
    ["prompt", "response_a", "response_b", "label", "id", "category"]), st.text(max_size=10), max_size=6).map(
    json.dumps)), max_size=6))
def test_the_audit_reader_gives_pairs_or_one_clean_error(tmp_path_factory: pytest.TempPathFactory,
                                                         lines: list[str]) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "pairs.jsonl"
    path.write_text("\n".join(lines))
    try:
        load_pair_set(str(path))
    except UserError as exc:
        assert str(path) in str(exc)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000), st.integers(0, 3))
def test_merge_refuses_a_damaged_input_cleanly_and_writes_nothing(tmp_path_factory: pytest.TempPathFactory,
                                                                  noise: bytes, where: int) -> None:
    folder = tmp_path_factory.mktemp("merge")
    source = folder / "in.db"
    shutil.copyfile(LEGACY, source)
    data = bytearray(source.read_bytes())
    offset = [0, 100, 4096, len(data) // 2][where]
    data[offset:offset + len(noise)] = noise
    source.write_bytes(bytes(data))
    before = sha(source)
    out = folder / "out.db"
    try:
        merge_stores(out, [source])
    except UserError:
        assert not out.exists()
    assert sha(source) == before


# -- 8. secrets in host URLs ---------------------------------------------------------------------------
def test_a_password_in_a_host_url_is_redacted_in_labels_errors_and_stored_specs() -> None:
    spec = ModelSpec.parse("m:1@http://ann:s3cret@gpu:11434")
    assert "s3cret" not in spec.label and spec.label == "m:1@http://ann:***@gpu:11434"
    assert "s3cret" not in str(UserError("host http://ann:s3cret@gpu:11434 failed"))
    assert redact("see https://u:p@h/x and http://plain/") == "see https://u:***@h/x and http://plain/"


# -- 9. terminal escapes in messages -------------------------------------------------------------------
def test_messages_quoting_user_data_escape_control_characters() -> None:
    evil = "d1\x1b]0;pwned\x07\x1b[2J"
    text = f"debate_id,rater,criterion,score\n{evil},ann,coherence,4\n{evil},ann,coherence,5\n"
    with pytest.raises(UserError) as err:
        parse_ratings_csv(text, "r.csv", RUBRIC)
    assert "already on line 2" in str(err.value)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", str(err.value)) and "\\x1b" in str(err.value)


# -- 10. smaller -------------------------------------------------------------------------------------
def test_a_question_id_with_a_slash_links_to_its_page(tmp_path: Path) -> None:
    with Store.open(tmp_path / "q.db") as store:
        store.upsert_experiment("q", description="", kind="questions", spec={}, source_file="")
        store.write_qa_call({"call_id": "c1", "experiment": "q", "split": "evaluation", "question_id": "set/7?x#y",
                             "agent": "a", "kind": "answer", "sample": 0, "letter": "A", "truth": "A", "correct": 1,
                             "text": "t", "model": "m", "calls": 1})
    client = TestClient(create_app(tmp_path / "q.db"), base_url="http://127.0.0.1:8765")
    listing = client.get("/experiments/q/questions")
    href = re.search(r'href="(/experiments/q/questions/[^"]+)"', listing.text).group(1)
    assert href == "/experiments/q/questions/set%2F7%3Fx%23y"
    page = client.get(href)
    assert page.status_code == 200 and "set/7?x#y" in page.text


def test_reimporting_the_same_ratings_writes_nothing_at_all(tmp_path: Path) -> None:
    db = build_view_store(tmp_path)
    with Store.open(db) as store:
        debate = store.debates(EXPERIMENT)[0]["debate_id"]
        path = tmp_path / "r.csv"
        path.write_text(f"debate_id,rater,criterion,score\n{debate},ann,coherence,4\n")
        import_ratings(store, path, RUBRIC)
        stamps = query(db, "select key, computed_at from reliability order by key")
        time.sleep(0.01)
        result = import_ratings(store, path, RUBRIC)
    assert result["written"] == 0 and query(db, "select key, computed_at from reliability order by key") == stamps


def test_a_configuration_whose_template_is_missing_is_refused_by_graph(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ntopology: single\nmodel: smollm2:135m@embedded\n")
    text = config.read_text().replace("model: smollm2:135m@embedded\n", "") + (
        "agents:\n  pro: {role: debater, stance: pro, model: smollm2:135m@embedded, template: nowhere.txt}\n"
        "  con: {role: debater, stance: con, model: smollm2:135m@embedded}\n"
        "  judge: {role: aggregator, model: smollm2:135m@embedded}\n")
    config.write_text(text.replace("topology: single", "topology: adversarial"))
    proc = run_cli("graph", str(config))
    assert proc.returncode == 2 and "field 'agents.pro.template'" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "nowhere.txt").write_text("You are $agent. $instruction")
    assert run_cli("graph", str(config)).returncode == 0  # found beside the configuration
