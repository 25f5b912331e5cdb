"""The dashboard as a person sees it: `databank dashboard` serving the published warehouse on
127.0.0.1, every page opened in headless Chromium, a screenshot of each, and no error anywhere."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from databank.dashboard import PAGES
from databank.dashboard.launch import settings_environment

ERROR_BOXES = '[data-testid="stException"], [data-testid="stAlertContentError"]'
CHINESE = re.compile(r"[\u4e00-\u9fff]")
STARTUP_SECONDS = 60
PAGE_SECONDS = 60
SETTLE_SECONDS = 0.7
SCREEN = (1400, 2400)  # tall enough for the longest page in one screenshot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(published, module_tmp):
    """The URL of `databank dashboard` serving the published warehouse; the server's whole process
    group is stopped afterwards."""
    settings, _ = published
    port = free_port()
    log = module_tmp("dashboard") / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "databank.cli", "dashboard", "--port", str(port)],
            env={**os.environ, **settings_environment(settings)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/_stcore/health", server, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the dashboard exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the dashboard did not answer {url} within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def tall_browser(browser):
    """The shared browser, made tall enough for whole pages, then given its size back."""
    size = browser.get_window_size()
    browser.set_window_size(*SCREEN)
    yield browser
    browser.set_window_size(size["width"], size["height"])


def test_every_page_opens_in_a_browser_without_error(dashboard, tall_browser, published, tmp_path):
    settings, _ = published
    kept = settings.reports / "screenshots"
    kept.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        tall_browser.get(dashboard + ("" if page is PAGES[0] else page.url_path))
        _wait_until_drawn(tall_browser, page.title)

        screenshot = tall_browser.get_screenshot_as_png()
        (tmp_path / f"{page.url_path}.png").write_bytes(screenshot)
        (kept / f"{page.url_path}.png").write_bytes(screenshot)
        errors = [box.text for box in tall_browser.find_elements(By.CSS_SELECTOR, ERROR_BOXES)]
        assert not errors, (page.url_path, errors)
        assert "No night has been published" not in tall_browser.page_source, page.url_path

    brand = tall_browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Brand"]').get_attribute("value")
    assert CHINESE.search(brand), brand  # the brand filter names the brand in Chinese


def _wait_until_drawn(browser, title: str) -> None:
    """Until the page's title shows, the script has finished and every chart has drawn, twice over a
    settling pause (Streamlit shows its running indicator only after a moment)."""

    def drawn(driver) -> bool:
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h1")]
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        charts_drawn = driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
            ".every(chart => chart.querySelector('.main-svg'))"
        )
        return any(title in heading for heading in headings) and not running and charts_drawn

    for _ in range(2):
        WebDriverWait(browser, PAGE_SECONDS, poll_frequency=0.3).until(drawn)
        time.sleep(SETTLE_SECONDS)
