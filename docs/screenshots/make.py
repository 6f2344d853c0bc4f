"""Re-make the README's screenshots: `PYTHONPATH=. python docs/screenshots/make.py results.db` (after `debatelab demo`).

Starts `debatelab view` on the given store, opens the experiment, one debate and the blind rating
page in Debian's Chromium, and writes experiment.png, debate.png and rate.png next to this file.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.test_viewer_browser import LAUNCH_ARGS, ViewServer

HERE = Path(__file__).resolve().parent


def main(db: str, experiment: str = "demo") -> None:
    server = ViewServer(Path(db)).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server.url}/experiments/{experiment}")
            page.screenshot(path=str(HERE / "experiment.png"))
            page.goto(f"{server.url}/debates?experiment={experiment}")
            page.locator("table.grid tbody a").nth(2).click()
            page.wait_for_url("**/debates/*")
            page.screenshot(path=str(HERE / "debate.png"))
            page.goto(f"{server.url}/rate/{experiment}?rater=ann&rubric=alignment-7")
            page.keyboard.press("4")
            page.keyboard.press("5")
            page.screenshot(path=str(HERE / "rate.png"))
            browser.close()
    finally:
        server.kill()


if __name__ == "__main__":
    main(*sys.argv[1:])
