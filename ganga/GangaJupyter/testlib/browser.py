"""Debian's Chromium as the tests and scripts start it (no browser download: the registries are all we reach)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

#: ``$GANGAJUPYTER_CHROMIUM`` names another build (or, set to a missing path, simulates a machine without one).
CHROMIUM = os.environ.get("GANGAJUPYTER_CHROMIUM", "/usr/bin/chromium")

#: Without the background-networking flags Chromium keeps trying hosts it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium_page(width: int = 1200, height: int = 900, timeout_ms: int = 90_000) -> Iterator[Any]:
    """A page of a new headless Chromium (Debian's, with the flags above), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()
