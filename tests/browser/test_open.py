"""The open page, on every path a recipient takes (issue 14): reload, Back and
Forward after revealing, links that chat and mail programs mangled, a key added in
the address bar, the passphrase field, and a way on from every end."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, ViewportSize, expect

from services.protocol.envelope import b64u_encode
from tests.browser.test_accessibility import serious_violations
from tests.support.browser import PLAIN_HOST, create_secret, open_landing, reveal
from tests.support.fixtures_types import NewContext
from tests.support.sealing import secret_passphrase, secret_text

PHONE: ViewportSize = {"width": 390, "height": 844}
Scheme = Literal["light", "dark"]
ALREADY_OPENED = "You already opened this secret"
SHARE_YOUR_OWN = "Share a secret of your own"


async def settled(page: Page) -> None:
    """Wait until the open page has checked its link (reveal form, or an end)."""
    await page.wait_for_selector("#reveal-form:not([hidden]), #status.notice-error")


async def test_reload_back_and_forward_after_revealing_say_it_was_opened(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text())
    recipient, _ = await new_context()
    page = await recipient.new_page()
    await page.goto(site + "/")  # where the recipient was before: their mail, say
    await page.goto(str(share))
    await settled(page)
    await reveal(page)
    assert await page.is_visible("#revealed")

    async def says_it_was_opened() -> None:
        await settled(page)
        status = str(await page.text_content("#status"))
        assert ALREADY_OPENED in status and "viewed and is gone" in status, status
        assert "missing its key" not in status and "Ask the sender" not in status
        await expect(page.get_by_role("link", name=SHARE_YOUR_OWN)).to_be_visible()
        assert await page.input_value("#secret-text") == ""  # the secret left with the page

    await page.reload()
    await says_it_was_opened()

    await page.go_back()  # to the page before the link
    await page.wait_for_url(site + "/")
    await page.go_forward()  # and Forward to the spent link
    await says_it_was_opened()

    await page.get_by_role("link", name=SHARE_YOUR_OWN).click()
    await page.wait_for_url(site + "/")
    await page.go_back()
    await says_it_was_opened()


async def test_reload_after_revealing_a_secret_with_views_left_says_how_many(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text(), views=3)
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))
    await reveal(page)
    await page.reload()
    await settled(page)
    status = str(await page.text_content("#status"))
    assert ALREADY_OPENED in status and "2 views left" in status, status
    assert await page.is_visible("#reveal-form")
    assert "viewed 2 times" in str(await page.text_content("#secret-info"))


GLUED_ON = [".", ")", ",", "'", '"', "\u201d", "\u2019", "\u2026", ").", ">"]


async def test_links_with_punctuation_glued_on_or_23_for_hash_open(
    site: str, new_context: NewContext
) -> None:
    text = secret_text()
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, text)
    recipient, _ = await new_context()
    for glued in GLUED_ON:
        page = await open_landing(recipient, f"{share}{glued}")
        assert await page.is_visible("#reveal-form"), (glued, await page.text_content("#status"))
        assert page.url == str(share), glued  # the address bar holds the link as meant
        await page.close()

    encoded = f"{share.base}/s/{share.id}%23{b64u_encode(share.key)}"
    page = await open_landing(recipient, encoded)
    assert await page.is_visible("#reveal-form"), await page.text_content("#status")
    assert page.url == str(share)
    await reveal(page)
    assert await page.input_value("#secret-text") == text


async def test_a_key_added_in_the_address_bar_opens_without_a_reload(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text())
    recipient, _ = await new_context()
    page = await open_landing(recipient, f"{share.base}/s/{share.id}")
    assert "missing its key" in str(await page.text_content("#status"))
    await page.evaluate("window.sameDocument = true")
    await page.goto(str(share))  # the key typed after the address: Enter
    await page.wait_for_selector("#reveal-form:not([hidden])")
    assert await page.evaluate("window.sameDocument") is True  # no reload happened
    assert await page.is_hidden("#status")
    assert await page.is_hidden("#way-forward")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_passphrase_can_be_shown_and_the_last_attempt_is_marked(
    site: str, new_context: NewContext, scheme: Scheme
) -> None:
    passphrase = secret_passphrase()
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text(), passphrase=passphrase)
    recipient, _ = await new_context(color_scheme=scheme, bypass_csp=True)
    page = await open_landing(recipient, str(share))
    await page.set_viewport_size(PHONE)
    field = page.get_by_label("Passphrase", exact=True)
    await field.fill("typed in the dark")
    await page.get_by_role("button", name="Show passphrase").click()
    assert await field.get_attribute("type") == "text"
    await page.get_by_role("button", name="Hide passphrase").click()
    assert await field.get_attribute("type") == "password"
    assert await page.is_hidden("#last-attempt")

    for _ in range(3):
        await reveal(page, "not the passphrase")
        assert await page.is_hidden("#last-attempt")
    await reveal(page, "still not it")
    error = str(await page.text_content("#reveal-error"))
    assert "1 attempt left" in error and "destroyed" in error, error
    await expect(page.locator("#last-attempt")).to_be_visible()
    assert "Last attempt" in str(await page.text_content("#last-attempt"))
    assert "last-attempt" in str(await field.get_attribute("aria-describedby"))
    assert await serious_violations(page) == []

    await page.reload()  # this tab remembers: the warning stays
    await settled(page)
    await expect(page.locator("#last-attempt")).to_be_visible()
    await reveal(page, passphrase)
    assert await page.is_visible("#revealed")


async def expect_way_forward(page: Page, site: str) -> None:
    link = page.get_by_role("link", name=SHARE_YOUR_OWN)
    await expect(link).to_be_visible()
    await link.click()
    await page.wait_for_url(site + "/")
    await page.wait_for_selector("#secret-text")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_end_of_the_open_page_has_a_way_on(
    site: str, new_context: NewContext, scheme: Scheme
) -> None:
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text())
    recipient, _ = await new_context(color_scheme=scheme, bypass_csp=True)
    ends = {
        "unknown": f"{site}/s/AAAAAAAAAAAAAAAAAAAAAA#{'A' * 43}",
        "no key": f"{share.base}/s/{share.id}",
        "damaged key": f"{share.base}/s/{share.id}#damaged",
        "damaged id": f"{site}/s/short#{'A' * 43}",
    }
    for end, url in ends.items():
        page = await open_landing(recipient, url)
        await page.set_viewport_size(PHONE)
        assert await page.is_visible("#status.notice-error"), end
        assert await serious_violations(page) == [], end
        await expect_way_forward(page, site)
        await page.close()


async def test_a_lost_connection_can_be_tried_again(site: str, new_context: NewContext) -> None:
    sender, _ = await new_context()
    share, _ = await create_secret(sender, site, secret_text())
    recipient, _ = await new_context()
    page = await recipient.new_page()

    async def cut(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/v1/secrets/*/peek", cut)
    await page.goto(str(share))
    await settled(page)
    assert "cannot be reached" in str(await page.text_content("#status"))
    await page.unroute("**/api/v1/secrets/*/peek", cut)
    await page.get_by_role("button", name="Try again").click()
    await page.wait_for_selector("#reveal-form:not([hidden])")
    await reveal(page)
    assert await page.is_visible("#revealed")


async def open_404(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    await page.set_viewport_size(PHONE)
    response = await page.goto(url)
    assert response is not None and response.status == 404, url
    assert "text/html" in (await response.header_value("content-type") or "")
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_unknown_addresses_get_a_page_of_the_site(
    site: str, new_context: NewContext, scheme: Scheme
) -> None:
    context, _ = await new_context(color_scheme=scheme, bypass_csp=True)
    for path in ("/no/such/page", "/s/", "/s/AAAAAAAAAAAAAAAAAAAAAA/more", "/r"):
        page = await open_404(context, site + path)
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            re.compile("no page here", re.IGNORECASE)
        )
        await expect(page.get_by_role("link", name="burnafter")).to_be_visible()
        assert await serious_violations(page) == [], path
        await expect_way_forward(page, site)
        await page.close()


async def test_over_plain_http_the_links_are_said_to_still_work(
    site: str, new_context: NewContext, plain_http_browser: Browser
) -> None:
    sender, _ = await new_context()
    share, receipt = await create_secret(sender, site, secret_text())
    context = await plain_http_browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(str(share).replace("127.0.0.1", PLAIN_HOST))
        notice = page.locator("#insecure-context")
        await notice.wait_for()
        said = str(await notice.text_content())
        assert "HTTPS" in said and "the link still works" in said, said
        assert await page.is_hidden("#status") and await page.is_hidden("#reveal-form")

        await page.goto(str(receipt).replace("127.0.0.1", PLAIN_HOST))
        await page.wait_for_selector("#status.notice-error")
        said = str(await page.text_content("#status"))
        assert "HTTPS" in said and "receipt link still works" in said, said
    finally:
        await context.close()
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))  # nothing was spent
    assert await page.is_visible("#reveal-form")
