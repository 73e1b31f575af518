"""The create page, as a person meets it: size limits promised and kept, a file that
does not fit named on attach, a clear word on plain http, one secret per click, and
a password generator that asks before it replaces what was typed."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, FilePayload, Page, Request

from services.client.links import parse_link
from services.dev.app import build_app
from services.protocol.envelope import padded_length
from services.server.settings import Settings
from tests.support.browser import PLAIN_HOST
from tests.support.fixtures_types import AiohttpServer, NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_text
from tests.support.services import make_settings

MiB = 1024 * 1024
UNITS = {"bytes": 1, "KB": 1024, "MB": MiB}
# A host name that is not localhost: Chromium resolves it to the test server on
# loopback, but the page's origin is plain http on a name that is not secure.


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    """The ``site`` of these tests holds up to 1 MiB, in 64 KiB segments: small enough
    to go over with files the tests make."""
    return make_settings(database_url, MAX_CONTENT_BYTES=str(MiB), SEGMENT_SIZE=str(64 * 1024))


async def open_create_page(page: Page, site: str) -> None:
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")


def promised_bytes(text: str) -> int:
    """The page's promise ("1007 KB", "3.9 MB") in bytes."""
    found = re.fullmatch(r"([\d.]+) (bytes|KB|MB)", text)
    assert found, text
    return int(float(found[1]) * UNITS[found[2]])


def share_file(name: str, size: int) -> FilePayload:
    data = os.urandom(size)
    LEAK_WATCH.add("file", data[:64])
    return FilePayload(name=name, mimeType="application/octet-stream", buffer=data)


async def create_and_watch(page: Page) -> None:
    """Click Create, wait for the links, and watch their keys for leaks."""
    await page.click("#create-button")
    await page.wait_for_selector("#result:not([hidden]), #create-error:not([hidden])")
    assert await page.is_hidden("#create-error"), await page.text_content("#create-error")
    LEAK_WATCH.add_share_link(parse_link(await page.input_value("#share-link"), "s"))
    LEAK_WATCH.add_receipt_link(parse_link(await page.input_value("#receipt-link"), "r"))


# What a file adds to a content beside its bytes: the header's text length and file
# count, its name and type with their lengths, and its u64 size (docs/protocol.md, v2).
FILE_HEADER = 4 + 2 + 2 + 2 + 8
LONGEST_NAME = "n" * 251 + ".bin"  # 255 bytes, the most a name may have
OCTETS = "application/octet-stream"


async def test_the_page_states_the_limit_and_a_content_of_exactly_it_is_shared(
    aiohttp_server: AiohttpServer,
    database_url: str,
    test_log: Path,
    new_context: NewContext,
    db: asyncpg.Connection,
) -> None:
    """The page states MAX_CONTENT_BYTES, the number GET /limits answers, and takes a
    content whose plaintext total (names and types included) is exactly that."""
    limit = 3 * MiB + 12345
    env = {"MAX_CONTENT_BYTES": str(limit), "SEGMENT_SIZE": str(256 * 1024)}
    server = await aiohttp_server(build_app(make_settings(database_url, **env)))
    context, _ = await new_context()
    page = await context.new_page()
    await open_create_page(page, str(server.make_url("")).rstrip("/"))
    stated = str(await page.text_content("#max-size"))
    assert stated == "3.0 MB"  # 3.01 MiB, rounded down: never more than holds
    size = limit - FILE_HEADER - len(LONGEST_NAME) - len(OCTETS)
    await page.set_input_files("#secret-files", share_file(LONGEST_NAME, size + 1))
    await page.locator("#size-warning").wait_for()  # one byte over
    assert "3.0 MB" in str(await page.text_content("#size-warning"))
    await page.click("#remove-over")
    await page.set_input_files("#secret-files", share_file(LONGEST_NAME, size))
    assert await page.is_hidden("#size-warning")
    await create_and_watch(page)
    stored = await db.fetchrow("SELECT segment_count, sealed_bytes FROM contents")
    assert stored["segment_count"] == -(-padded_length(limit) // (256 * 1024))
    assert stored["sealed_bytes"] == await db.fetchval(
        "SELECT sum(octet_length(data)) FROM segments"
    )


async def test_a_file_that_does_not_fit_is_named_when_attached(
    site: str, new_context: NewContext
) -> None:
    context, _ = await new_context()
    page = await context.new_page()
    await open_create_page(page, site)
    limit = str(await page.text_content("#max-size"))
    promised = promised_bytes(limit)

    await page.fill("#secret-text", secret_text())
    await page.set_input_files("#secret-files", share_file("backup.tar", promised + 200_000))
    warning = page.locator("#size-warning")
    await warning.wait_for()
    said = str(await warning.text_content())
    assert "backup.tar" in said and f"up to {limit} in all" in said
    assert "backup.tar" in str(await page.text_content("#file-list .file-over"))
    assert await page.is_disabled("#create-button")

    await page.click("#remove-over")  # "Remove backup.tar"
    await warning.wait_for(state="hidden")
    assert await page.locator("#file-list li").count() == 0
    assert await page.is_enabled("#create-button")

    # Two files that fit alone but not together: the one that goes over is named.
    await page.set_input_files(
        "#secret-files",
        [share_file("first.bin", promised * 2 // 3), share_file("second.bin", promised * 2 // 3)],
    )
    await warning.wait_for()
    said = str(await warning.text_content())
    assert "second.bin" in said and "first.bin" not in said and limit in said
    assert await page.is_disabled("#create-button")
    await page.click('#file-list button[aria-label="Remove second.bin"]')
    await warning.wait_for(state="hidden")
    await create_and_watch(page)
    assert "viewed once" in str(await page.text_content("#result-summary"))


async def test_over_plain_http_the_page_says_what_to_do_before_anything_is_typed(
    site: str, plain_http_browser: Browser
) -> None:
    context = await plain_http_browser.new_context()
    try:
        page = await context.new_page()
        plain = site.replace("127.0.0.1", PLAIN_HOST)
        await page.goto(plain + "/")
        notice = page.locator("#insecure-context")
        await notice.wait_for()
        said = str(await notice.text_content())
        assert "HTTPS" in said and "localhost" in said and PLAIN_HOST in said
        assert await page.is_disabled("#secret-text")
        assert await page.is_disabled("#create-button")
        assert await page.is_disabled("#generate-password")

        # The same server on loopback is a secure context: no notice there.
        await open_create_page(page, site)
        assert await page.locator("#insecure-context").count() == 0
        assert await page.is_enabled("#secret-text")
    finally:
        await context.close()


async def test_a_double_click_on_create_makes_one_secret(
    site: str, new_context: NewContext, db: asyncpg.Connection
) -> None:
    context, _ = await new_context()
    page = await context.new_page()
    await open_create_page(page, site)
    started: list[Request] = []
    finished: list[Request] = []
    all_done = asyncio.Event()

    def track(request: Request, into: list[Request]) -> None:
        """Note each create request as it starts and ends: ``all_done`` while none is
        in flight."""
        if request.method == "POST" and request.url.endswith("/api/v1/contents"):
            into.append(request)
            if len(finished) == len(started):
                all_done.set()
            else:
                all_done.clear()

    page.on("request", lambda request: track(request, started))
    page.on("requestfinished", lambda request: track(request, finished))
    page.on("requestfailed", lambda request: track(request, finished))

    await page.fill("#secret-text", secret_text())
    await page.set_input_files("#secret-files", share_file("notes.bin", 300_000))
    await page.dblclick("#create-button")
    await page.wait_for_selector("#result:not([hidden])")
    await all_done.wait()
    LEAK_WATCH.add_share_link(parse_link(await page.input_value("#share-link"), "s"))
    assert len(started) == 1
    assert await db.fetchval("SELECT count(*) FROM contents") == 1


async def test_generate_asks_before_it_replaces_typed_text_and_has_options(
    site: str, new_context: NewContext
) -> None:
    context, _ = await new_context()
    page = await context.new_page()
    await open_create_page(page, site)
    typed = "what I typed myself"
    await page.fill("#secret-text", typed)

    await page.click("#generate-password")
    await page.wait_for_selector("#replace-question:not([hidden])")
    assert await page.input_value("#secret-text") == typed
    await page.click("#replace-no")  # "Keep my text"
    assert await page.is_hidden("#replace-question")
    assert await page.input_value("#secret-text") == typed

    await page.click("#generate-password")
    await page.click("#replace-yes")  # "Replace it"
    generated = await page.input_value("#secret-text")
    assert generated != typed
    assert re.fullmatch(r"[A-Za-z2-9_.!@#%+=-]{24}", generated), generated

    await page.select_option("#generate-kind", "words")
    await page.fill("#generate-length", "5")
    await page.click("#generate-password")
    await page.click("#replace-yes")
    words = await page.input_value("#secret-text")
    assert re.fullmatch(r"[a-z]{3,8}(-[a-z]{3,8}){4}", words), words
    assert "5 words" in str(await page.text_content("#generated-note"))

    # An empty field has nothing to lose: no question.
    await page.fill("#secret-text", "")
    await page.select_option("#generate-kind", "characters")
    await page.fill("#generate-length", "40")
    await page.click("#generate-password")
    assert await page.is_hidden("#replace-question")
    assert len(await page.input_value("#secret-text")) == 40
