"""Browser tests: Debian's headless Chromium, driven by Playwright (no browser
download), against the same app ``make run`` serves, on loopback.

One Chromium per session (per xdist worker), a fresh context (profile) per test.
Playwright's objects belong to the event loop that made them, so the browser tests
and the async fixtures they share with it run in pytest-asyncio's session loop
(``loop_scope="session"``), as its guide "run all tests in the session in the same
event loop" does, limited to this folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Unpack

import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from playwright.async_api import Browser, BrowserContext, async_playwright
from pytest_asyncio import is_async_test

from services.dev.app import build_app
from services.server.settings import Settings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PLAIN_HOST, RequestLog
from tests.support.fixtures_types import AiohttpServer, ContextOptions, NewContext

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and HERE in item.path.resolve().parents:
            item.add_marker(session_loop, append=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def aiohttp_server() -> AsyncIterator[AiohttpServer]:
    """pytest-aiohttp's ``aiohttp_server``, in the session loop the browser tests use."""
    servers: list[TestServer] = []

    async def go(app: Application, *, host: str = "127.0.0.1", **kwargs: Any) -> TestServer:
        server = TestServer(app, host=host)
        await server.start_server(**kwargs)
        servers.append(server)
        return server

    yield go
    while servers:
        await servers.pop().close()


@pytest_asyncio.fixture(loop_scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection, in the session loop the browser tests use."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def plain_http_browser(browser: Browser) -> AsyncIterator[Browser]:
    """A Chromium that resolves PLAIN_HOST to loopback: our site over plain http
    from a host that is not localhost."""
    rules = f"--host-resolver-rules=MAP {PLAIN_HOST} 127.0.0.1"
    launched = await browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, rules], headless=True
    )
    yield launched
    await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def site(aiohttp_server: AiohttpServer, settings: Settings) -> str:
    """The web frontend with the api under /api, as ``make run`` serves it."""
    server = await aiohttp_server(build_app(settings))
    return str(server.make_url("")).rstrip("/")


@pytest_asyncio.fixture(loop_scope="session")
async def new_context(browser: Browser) -> AsyncIterator[NewContext]:
    """A fresh browser profile per call: no shared cookies, storage or cache. Every
    context a test made is closed after it."""
    made: list[BrowserContext] = []

    async def make(**options: Unpack[ContextOptions]) -> tuple[BrowserContext, RequestLog]:
        context = await browser.new_context(**options)
        made.append(context)
        log = RequestLog()
        context.on("request", log.record)
        return context, log

    yield make
    for context in made:
        await context.close()
