"""Browser tests: Debian's headless Chromium, driven by Playwright (no browser
download), against the same app ``make run`` serves, on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from services.dev import build_app
from tests.browser.pages import RequestLog

CHROMIUM = Path("/usr/bin/chromium")
# The flags keep Chromium from calling home; the machine's network is closed anyway.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def site(aiohttp_server, settings) -> str:
    """The web frontend with the api under /api, as ``make run`` serves it."""
    server = await aiohttp_server(build_app(settings))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def new_context(browser: Browser):
    """A fresh browser profile per call: no shared cookies, storage or cache."""

    async def make(**options: object) -> tuple[BrowserContext, RequestLog]:
        context = await browser.new_context(**options)
        log = RequestLog()
        context.on("request", log.record)
        return context, log

    return make
