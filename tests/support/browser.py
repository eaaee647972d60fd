"""Headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright.

The :func:`chromium` fixture (registered for every test module by ``tests/conftest.py``)
gives one browser per test module; screenshots of the journeys go to :data:`ARTIFACTS`
(``test-artifacts/browser/`` in the checkout).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

__all__ = ["ARTIFACTS", "CHROMIUM", "LAUNCH_ARGS", "chromium"]

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Chromium from Debian's package (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()
