"""A training run's page in the Prefect UI of `regress ui start` shows the model report's plots (headless Chromium).

The stack is the one `make ui` starts: Prefect server with its UI, deployments, a worker and the
report server. A tiny training run goes through the nightly deployment; the test opens the run's
page, its markdown report artifact, and checks that a plot is drawn there, that the link artifact
opens on the report server and that the report page's own images load. Screenshots are saved
under the test's folder and, when $REGRESS_SCREENSHOT_DIR is set, copied there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.helpers import fast_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get (as root) where it is missing."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing: install it with `sudo apt-get install -y chromium`", pytrace=False)
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)  # a fresh machine has no lists
        done = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not CHROMIUM.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            pytest.fail(f"`apt-get install -y chromium` failed: {' '.join(tail)}", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(ui_stack) -> Iterator[dict]:
    """The session's `regress ui start` stack (URLs of the UI, the API and the report server)."""
    with temporary_settings({PREFECT_API_URL: ui_stack[1]["api_url"]}):
        yield ui_stack[1]


def report_artifacts(flow_run_id) -> dict[str, object]:
    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["model-report", "model-report-link"])),
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            )

    return {artifact.key: artifact for artifact in asyncio.run(read())}


def keep_screenshot(path: Path) -> None:
    folder = os.environ.get("REGRESS_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / path.name)


def drawn_images(page, selector: str) -> list[dict]:
    """Width as drawn, natural width and visibility of the images that `selector` finds."""
    return page.eval_on_selector_all(
        selector,
        "images => images.map(i => ({alt: i.alt, natural: i.naturalWidth, complete: i.complete,"
        " shown: i.getBoundingClientRect().width > 0 && getComputedStyle(i).visibility !== 'hidden'}))",
    )


def test_the_run_page_shows_the_plots_and_links_the_served_report(stack, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    config = fast_config(None, data={"source": "linear"}, train={"max_epochs": 10})
    run = run_deployment("training/nightly", parameters={"config": config}, timeout=300)
    assert run.state.is_completed(), run.state
    artifacts = report_artifacts(run.id)
    link = artifacts["model-report-link"].data.rsplit("(", 1)[-1].rstrip(")")  # stored as [text](url)
    assert link == f"{stack['report_url']}/models/linear/v0001/report.html"
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.status == 200
        assert b'<img src="plots/predicted_vs_actual.png"' in response.read()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(f"{stack['url']}/runs/flow-run/{run.id}")
            tab = page.get_by_role("tab", name="Artifacts").or_(page.get_by_text("Artifacts", exact=True))
            tab.first.click()
            card = page.get_by_text("model-report", exact=True).last
            card.wait_for()
            page.screenshot(path=tmp_path / "run-artifacts.png", full_page=True)
            card.click()
            plot = page.locator('img[alt="predicted vs actual"]')
            plot.wait_for(state="visible")
            page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=plot.element_handle())
            shot = tmp_path / "run-report-artifact.png"
            page.screenshot(path=shot, full_page=True)
            keep_screenshot(shot)
            keep_screenshot(tmp_path / "run-artifacts.png")
            images = drawn_images(page, "img[alt]")
            shown = {image["alt"] for image in images if image["natural"] > 0 and image["shown"]}
            assert {"predicted vs actual", "residuals", "loss curves"} <= shown
            assert page.get_by_text("this model", exact=True).is_visible()

            page.goto(link)
            page.wait_for_load_state("load")
            images = drawn_images(page, "img")
            assert images
            assert all(image["complete"] and image["natural"] > 0 for image in images), images
        finally:
            browser.close()
