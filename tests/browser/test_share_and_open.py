"""Share in one browser, open in another: the promises a person sees."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import asyncpg

from tests.support.browser import FileToShare, create_secret, download_all, open_landing, reveal
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH, find_leaks
from tests.support.sealing import secret_passphrase, secret_text


async def test_created_in_one_browser_opens_once_in_another(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    text = secret_text()
    blob = os.urandom(3000) + bytes(range(256))
    LEAK_WATCH.add("file", blob[:64])
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, text, files=(FileToShare("deploy-key.bin", blob),))

    recipient, _ = await new_context(accept_downloads=True)
    page = await open_landing(recipient, str(share))
    info = await page.text_content("#secret-info")
    assert "viewed once" in str(info)
    await reveal(page)
    assert await page.input_value("#secret-text") == text
    assert await download_all(page, tmp_path) == {"deploy-key.bin": blob}
    assert "viewed and is gone" in str(await page.text_content("#spent-notice"))
    assert "#" not in page.url  # the key leaves the address bar once the link is spent

    third, _ = await new_context()
    gone = await open_landing(third, str(share))
    assert "gone" in str(await gone.text_content("#status"))
    assert await gone.is_hidden("#reveal-form")


async def test_requests_never_carry_plaintext_key_or_passphrase(
    site: str, new_context: NewContext
) -> None:
    text, passphrase = secret_text(), secret_passphrase()
    sender, sent = await new_context()
    share, receipt = await create_secret(
        sender, site, text, passphrase=passphrase, label="browser label text"
    )
    recipient, received = await new_context()
    page = await open_landing(recipient, str(share))
    await reveal(page, passphrase)
    assert await page.input_value("#secret-text") == text
    receipt_page = await sender.new_page()
    await receipt_page.goto(str(receipt))
    await receipt_page.wait_for_selector("#receipt:not([hidden])")

    traffic = b"\n".join(sent.requests + received.requests)
    assert b"/api/v1/secrets" in traffic and b"/reveal" in traffic  # the capture works
    forbidden = {
        "plaintext": text.encode(),
        "passphrase": passphrase.encode(),
        "link key": share.key,
        "receipt key": receipt.key,
        "label": b"browser label text",
    }
    assert find_leaks(traffic, forbidden) == []


async def views_left(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT views_left FROM secrets"))


async def test_loading_the_landing_page_never_spends_a_view(
    site: str, new_context: NewContext, db: asyncpg.Connection
) -> None:
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text())
    without_key = f"{share.base}/s/{share.id}"

    browser_with_key, _ = await new_context()
    for _ in range(3):
        await open_landing(browser_with_key, str(share))
    no_fragment = await open_landing(browser_with_key, without_key)
    assert "missing its key" in str(await no_fragment.text_content("#status"))

    no_script, _ = await new_context(java_script_enabled=False)
    page = await no_script.new_page()
    await page.goto(str(share))
    assert "needs JavaScript" in await page.inner_text("noscript")
    assert "link still works" in await page.inner_text("noscript")

    async with aiohttp.ClientSession() as http:
        for url in (str(share), without_key):
            async with http.get(url) as response:
                assert response.status == 200
                assert response.headers["Cache-Control"] == "no-store"
    assert await views_left(db) == 1

    page = await open_landing(browser_with_key, str(share))
    await reveal(page)
    assert await page.is_visible("#revealed")


async def test_wrong_passphrase_counts_down_then_the_secret_is_destroyed(
    site: str, new_context: NewContext, db: asyncpg.Connection
) -> None:
    passphrase = secret_passphrase()
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text(), passphrase=passphrase)
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))
    assert await page.is_visible("#passphrase")
    for left in (4, 3, 2, 1):
        await reveal(page, "not the passphrase")
        assert f"{left} attempt" in str(await page.text_content("#reveal-error"))
    await reveal(page, "still not it")
    assert "destroyed" in str(await page.text_content("#status"))
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0
    again = await open_landing(recipient, str(share))
    assert "gone" in str(await again.text_content("#status"))


async def test_malformed_and_unknown_links_get_a_clear_message(
    site: str, new_context: NewContext
) -> None:
    context, _ = await new_context()
    cases = {
        f"{site}/s/AAAAAAAAAAAAAAAAAAAAAA#damaged": "damaged",
        f"{site}/s/short#{'A' * 43}": "id is damaged",
        f"{site}/s/AAAAAAAAAAAAAAAAAAAAAA#{'A' * 43}": "gone",
    }
    for url, message in cases.items():
        page = await open_landing(context, url)
        assert message in str(await page.text_content("#status")), url


async def test_receipt_page_shows_activity_and_revokes(site: str, new_context: NewContext) -> None:
    sender, _ = await new_context()
    share, receipt = await create_secret(
        sender, site, secret_text(), views=2, label="for the on-call rotation"
    )
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))
    await reveal(page)
    assert "1 view left" in str(await page.text_content("#spent-notice"))

    receipt_page = await sender.new_page()
    await receipt_page.goto(str(receipt))
    await receipt_page.wait_for_selector("#receipt:not([hidden])")
    assert await receipt_page.text_content("#label") == "for the on-call rotation"
    assert await receipt_page.text_content("#views") == "1 of 2"
    events = await receipt_page.locator("#events tbody tr td:nth-child(2)").all_text_contents()
    assert events == ["Created", "Viewed"]
    assert "127.0.0.0/24" in await receipt_page.inner_text("#events")

    receipt_page.on("dialog", lambda dialog: dialog.accept())
    await receipt_page.click("#revoke")
    await receipt_page.wait_for_selector("#revoke[hidden]", state="attached")
    assert "Revoked" in str(await receipt_page.text_content("#state"))
    gone = await open_landing(recipient, str(share))
    assert "gone" in str(await gone.text_content("#status"))
