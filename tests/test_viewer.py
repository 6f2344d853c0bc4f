"""`debatelab view` through Starlette's TestClient: pages, filters, escaping, CSRF, blind rating."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from debatelab.store import Store
from debatelab.view import create_app, rater_order
from tests.sql import query
from tests.viewer_store import EXPERIMENT, JUDGE, build_view_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_view_store(tmp_path)


@pytest.fixture
def client(db: Path) -> TestClient:
    return TestClient(create_app(db), base_url="http://127.0.0.1:8765")


def ids(db: Path) -> list[dict]:
    return Store.open(db).debates(EXPERIMENT)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_overview_links_to_the_experiment_and_its_table_has_n_and_unscored(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200 and f"/experiments/{EXPERIMENT}" in home.text
    page = client.get(f"/experiments/{EXPERIMENT}")
    assert page.status_code == 200
    for config in ("baseline-deepseek-r1:7b", "lightweight", "balanced"):
        assert config in page.text
    assert "n=1" in page.text and "argument quality" in page.text
    assert f"judge {JUDGE} - not audited" in page.text  # the audit line stands beside the table
    assert "No human ratings yet" in page.text


def test_debate_page_shows_turns_judgments_with_reasons_verdict_and_matched_debates(client: TestClient, db: Path) -> None:
    debate = next(d for d in ids(db) if d["config"] == "lightweight")
    page = client.get(f"/debates/{debate['debate_id']}")
    assert page.status_code == 200
    assert "REASON-argument_quality" in page.text and JUDGE in page.text
    assert 'class="label verdict">verdict<' in page.text  # the aggregator's turn is the verdict
    assert "truncated" in page.text
    matched = [d for d in ids(db) if d["debate_id"] != debate["debate_id"]]
    for m in matched:
        assert f"/compare?a={debate['debate_id']}&amp;b={m['debate_id']}" in page.text
    compare = client.get(f"/compare?a={debate['debate_id']}&b={matched[0]['debate_id']}")
    assert compare.status_code == 200 and debate["config"] in compare.text and matched[0]["config"] in compare.text


def test_model_text_is_escaped_and_scripts_are_confined_by_csp(client: TestClient, db: Path) -> None:
    target = next(d for d in ids(db) if d["kind"] == "baseline")
    rows = client.get("/debates?q=XSSMARK").text
    debate_id = re.search(r'href="/debates/([0-9a-f]+)"', rows).group(1)
    page = client.get(f"/debates/{debate_id}")
    assert target["kind"] == "baseline"
    assert "XSSMARK &lt;script&gt;" in page.text and "<script>document.title" not in page.text
    assert "<img src=x" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]


def test_filters_search_and_pagination(client: TestClient, db: Path) -> None:
    page = client.get(f"/debates?experiment={EXPERIMENT}&config=lightweight")
    assert page.text.count('href="/debates/') == 1
    assert client.get("/debates?q=XSSMARK").text.count('href="/debates/') == 1
    # LIKE wildcards in a search mean themselves: "100%" matches the literal, "0%l" does not match "0% l".
    assert client.get("/debates?q=100%25 literal_under").text.count('href="/debates/') == 1
    assert client.get("/debates?q=lit%25under").text.count('href="/debates/') == 0
    assert client.get(f"/debates?judge={JUDGE}").text.count('href="/debates/') == 4
    assert client.get("/debates?unscored=1").text.count('href="/debates/') == 0
    assert client.get("/debates?page=0").status_code == 400
    assert "page: &#39;x&#39; is not a whole number" in client.get("/debates?page=x").text
    assert client.get("/debates?q=" + "a" * 300).status_code == 400
    assert client.get("/debates/nope").status_code == 404
    assert client.get("/experiments/nope").status_code == 404
    assert client.get("/compare").status_code == 400


def test_unknown_host_header_is_refused(db: Path) -> None:
    client = TestClient(create_app(db), base_url="http://evil.example:8765")
    assert client.get("/").status_code == 400


def test_blind_rating_is_anonymised_saved_at_once_with_progress(client: TestClient, db: Path) -> None:
    page = client.get(f"/rate/{EXPERIMENT}?rater=ann&rubric=alignment-7")
    assert page.status_code == 200 and "0 of 4 rated" in page.text
    transcript = re.search(r'<pre class="blind" id="transcript">(.*?)</pre>', page.text, re.S).group(1)
    for leak in ("deepseek", "lightweight", "balanced", "baseline", "qwen", "llama"):
        assert leak not in transcript.lower()
    assert "&lt;&lt;&lt;TRANSCRIPT" in transcript  # the judge's own delimited, neutralised view
    debate_id = re.search(r'name="debate_id" value="([^"]+)"', page.text).group(1)
    order = rater_order("ann", EXPERIMENT, sorted(d["debate_id"] for d in ids(db)))
    assert debate_id == order[0]
    form = {"csrf": csrf_of(page.text), "rater": "ann", "rubric": "alignment-7", "debate_id": debate_id,
            **{f"score_{c}": "5" for c in ("argument_quality", "reasoning_depth", "alignment_focus",
                                           "safety_consideration", "truthfulness", "human_values")},
            "score_coherence": "none", "reason": "clear but thin"}
    saved = client.post(f"/rate/{EXPERIMENT}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    rows = query(db, "select criterion, score, unscored_reason, rationale from scores "
                                "where judge = 'human:ann' order by criterion")
    assert len(rows) == 7
    assert {r["criterion"]: r["score"] for r in rows}["coherence"] is None
    assert {r["criterion"]: r["unscored_reason"] for r in rows}["coherence"] == "no opinion"
    assert all(r["rationale"] == "clear but thin" for r in rows)
    nxt = client.get(saved.headers["location"])
    assert "1 of 4 rated" in nxt.text
    assert re.search(r'name="debate_id" value="([^"]+)"', nxt.text).group(1) == order[1]


def test_a_write_without_the_csrf_token_or_from_another_site_is_refused(client: TestClient, db: Path) -> None:
    page = client.get(f"/rate/{EXPERIMENT}?rater=ann&rubric=alignment-7")
    debate_id = re.search(r'name="debate_id" value="([^"]+)"', page.text).group(1)
    form = {"rater": "ann", "rubric": "alignment-7", "debate_id": debate_id, "score_coherence": "3"}
    assert client.post(f"/rate/{EXPERIMENT}", data={**form, "csrf": "forged"}).status_code == 403
    other_site = client.post(f"/rate/{EXPERIMENT}", data={**form, "csrf": csrf_of(page.text)},
                             headers={"Origin": "http://evil.example"})
    assert other_site.status_code == 403
    incomplete = client.post(f"/rate/{EXPERIMENT}", data={**form, "csrf": csrf_of(page.text)})
    assert incomplete.status_code == 400 and "score_argument_quality" in incomplete.text
    assert query(db, "select count(*) as n from judgments where judge like 'human:%'")[0]["n"] == 0


def test_rating_inputs_are_validated(client: TestClient) -> None:
    assert client.get(f"/rate/{EXPERIMENT}?rater=a%20b&rubric=alignment-7").status_code == 400
    assert client.get(f"/rate/{EXPERIMENT}?rater=ann&rubric=../../etc/passwd").status_code == 400
    assert client.get("/rate/nope?rater=ann&rubric=alignment-7").status_code == 404
    assert "paper-2509.00091" in client.get("/rate").text


def test_rater_order_is_stable_per_rater_and_differs_between_raters() -> None:
    debates = [f"d{i}" for i in range(30)]
    assert rater_order("ann", "e", debates) == rater_order("ann", "e", list(reversed(debates)))
    assert rater_order("ann", "e", debates) != rater_order("bob", "e", debates)


def test_question_experiment_pages(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "q.db")
    store.upsert_experiment("w2s", description="", kind="questions", spec={}, source_file="")
    for agent, letter in (("weak-a", "A"), ("weak-b", "B")):
        store.write_qa_call({"call_id": f"q1:{agent}", "experiment": "w2s", "split": "evaluation", "question_id": "q1",
                             "agent": agent, "kind": "answer", "sample": 0, "letter": letter, "truth": "A",
                             "correct": int(letter == "A"), "text": f"<b>{agent}</b> explains", "model": "m"})
    client = TestClient(create_app(tmp_path / "q.db"), base_url="http://127.0.0.1")
    listing = client.get("/experiments/w2s/questions")
    assert listing.status_code == 200 and "/experiments/w2s/questions/q1" in listing.text
    page = client.get("/experiments/w2s/questions/q1")
    assert "&lt;b&gt;weak-a&lt;/b&gt; explains" in page.text
    assert client.get("/experiments/w2s").status_code == 200  # redirected to the questions
    assert client.get("/experiments/w2s/questions/q9").status_code == 404


def test_a_score_only_judgment_is_labelled_with_its_prompt_version(tmp_path: Path) -> None:
    """Judge prompt version 4 records no reasons: the page says so rather than showing empty cells."""
    from debatelab.rubric import load_rubric

    db = build_view_store(tmp_path, judge=False)
    store = Store.open(db)
    debate = store.debates(EXPERIMENT)[0]["debate_id"]
    rubric = load_rubric("alignment-7")
    jid = f"{debate}:{rubric.label}:{JUDGE}:0:prompt4"
    base = {"experiment": EXPERIMENT, "debate_id": debate, "rubric": rubric.id, "rubric_version": rubric.version,
            "judge": JUDGE, "sample": 0, "permuted": 0}
    store.write_judgment({**base, "judgment_id": jid, "overall": 4.0, "n_scored": 7, "n_unscored": 0,
                          "speaker_order": "", "finished_at": 0.0, "prompt_version": "4"},
                         [{**base, "score_id": f"{jid}:{c.id}", "judgment_id": jid, "criterion": c.id, "score": 4,
                           "unscored_reason": None, "rationale": "", "attempts": 1} for c in rubric.criteria], [])
    store.close()
    page = TestClient(create_app(db), base_url="http://127.0.0.1:8765").get(f"/debates/{debate}")
    assert page.status_code == 200
    assert "judge prompt v4" in page.text and "asks for no reasons" in page.text
