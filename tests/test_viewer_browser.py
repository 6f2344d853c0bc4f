"""`debatelab view` in a real browser: Playwright drives Debian's Chromium (apt-get install -y chromium).

Each test starts the real command on a store built from the study's sample and saves a screenshot
of every page it visits under tests/artifacts/ (or $DEBATELAB_ARTIFACTS). Without Chromium the
tests are skipped, unless DEBATELAB_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sql import query
from tests.viewer_store import EXPERIMENT, build_view_store

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("DEBATELAB_ARTIFACTS", Path(__file__).resolve().parent / "artifacts"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ViewServer:
    """`debatelab view` as a user starts it; kill() is a kill -9."""

    def __init__(self, db: Path):
        self.db, self.port = db, _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ViewServer:
        self.proc = subprocess.Popen([sys.executable, "-m", "debatelab", "view", "--db", str(self.db), "--port",
                                      str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=2)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"debatelab view exited: {self.proc.stdout.read().decode()[-500:]}") from None
                time.sleep(0.2)
        raise RuntimeError("debatelab view did not answer within 60 s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if CHROMIUM is None:
        if os.environ.get("DEBATELAB_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ViewServer]:
    s = ViewServer(build_view_store(tmp_path)).start()
    yield s
    s.kill()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_browse_from_the_overview_to_a_debate(browser, server: ViewServer) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(server.url + "/")
    shot(page, "overview")
    page.click(f"text={EXPERIMENT}")
    page.wait_for_url(f"**/experiments/{EXPERIMENT}")
    assert page.locator("table.grid").first.is_visible()
    shot(page, "experiment")
    page.click("text=Browse debates")
    page.select_option("select[name=config]", "lightweight")
    page.click("button:has-text('Filter')")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 1
    shot(page, "debates")
    rows.first.locator("a").first.click()
    page.wait_for_url("**/debates/*")
    assert page.locator(".turn").count() >= 5
    assert page.locator(".label.verdict").count() == 1
    assert page.locator("details.judgment").first.is_visible()
    shot(page, "debate")
    page.close()


def test_xss_in_a_transcript_does_not_execute(browser, server: ViewServer) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url + "/debates?q=XSSMARK")
    page.locator("table.grid tbody a").first.click()
    page.wait_for_url("**/debates/*")
    page.wait_for_timeout(300)
    assert page.title() != "PWNED" and not dialogs
    assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0
    assert "<script>document.title='PWNED'</script>" in page.locator(".turn .text").first.inner_text()
    shot(page, "xss")
    page.close()


def test_compare_page_shows_both_debates_side_by_side(browser, server: ViewServer) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(server.url + f"/debates?experiment={EXPERIMENT}&config=lightweight")
    page.locator("table.grid tbody a").first.click()
    page.locator("a:has-text('compare')").first.click()
    page.wait_for_url("**/compare?*")
    columns = page.locator(".two.compare > .col")
    assert columns.count() == 2
    assert columns.nth(0).locator(".turn").count() >= 5 and columns.nth(1).locator(".turn").count() >= 5
    shot(page, "compare")
    page.close()


def test_rate_from_the_keyboard_then_kill_and_restart_the_server(browser, server: ViewServer) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(server.url + "/rate")
    page.fill("input[name=rater]", "ann")
    page.select_option("select[name=experiment]", EXPERIMENT)
    page.click("button:has-text('Start rating')")
    page.wait_for_url(f"**/rate/{EXPERIMENT}?*")
    assert "0 of 4 rated" in page.locator("#progress").inner_text()
    assert "deepseek" not in page.locator("#transcript").inner_text().lower()
    shot(page, "rate")
    page.locator("body").click(position={"x": 5, "y": 5})
    for key in ["5", "4", "6", "n", "3", "5", "4"]:  # seven criteria, one "no opinion"
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#progress').innerText.includes('1 of 4 rated')")

    server.kill()  # kill -9: the rating was committed when it was submitted
    rows = query(server.db, "select criterion, score from scores where judge = 'human:ann' order by rowid")
    assert [r["score"] for r in rows] == [5, 4, 6, None, 3, 5, 4]
    server.start()
    page.goto(server.url + f"/rate/{EXPERIMENT}?rater=ann&rubric=alignment-7")
    assert "1 of 4 rated" in page.locator("#progress").inner_text()
    page.goto(server.url + f"/experiments/{EXPERIMENT}")
    assert "human:ann" in page.content()
    shot(page, "experiment-with-ratings")
    page.close()
