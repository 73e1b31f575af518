"""The receipt page as a sender meets it (issue 14): on a phone, in light and dark
mode, in words a person reads, with the state in colour, and up to date by itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, ViewportSize, expect

from services.client.links import Link
from tests.browser.test_accessibility import serious_violations
from tests.support.browser import create_secret, open_landing, open_receipt, reveal
from tests.support.fixtures_types import NewContext
from tests.support.sealing import secret_passphrase, secret_text

Scheme = Literal["light", "dark"]
SCHEMES: tuple[Scheme, ...] = ("light", "dark")
PHONE: ViewportSize = {"width": 390, "height": 844}
ZONE = "America/New_York"
Phone = Callable[[Scheme], Awaitable[BrowserContext]]


@pytest_asyncio.fixture(loop_scope="session")
async def phone(browser: Browser) -> AsyncIterator[Phone]:
    """A phone's browser (390x844) in New York, in light or dark mode."""
    made: list[BrowserContext] = []

    async def make(scheme: Scheme) -> BrowserContext:
        context = await browser.new_context(
            viewport=PHONE, color_scheme=scheme, timezone_id=ZONE, locale="en-US", bypass_csp=True
        )
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


def rgb(css: str) -> tuple[float, float, float]:
    red, green, blue = (float(n) for n in re.findall(r"[\d.]+", css)[:3])
    return red, green, blue


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two opaque CSS colours."""

    def luminance(colour: str) -> float:
        channels = [c / 255 for c in rgb(colour)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def colours(badge: Locator) -> tuple[str, str]:
    """The badge's text and background colours."""
    found = await badge.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    return str(found[0]), str(found[1])


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_receipt_reads_well_on_a_phone(
    site: str, new_context: NewContext, phone: Phone, scheme: Scheme
) -> None:
    sender, _ = await new_context()
    share, receipt = await create_secret(sender, site, secret_text(), views=2)
    recipient, _ = await new_context()
    landing = await open_landing(recipient, str(share))
    agent = str(await landing.evaluate("navigator.userAgent"))
    await reveal(landing)

    page = await open_receipt(await phone(scheme), str(receipt))
    rows = page.locator("#events tbody tr")
    await expect(rows).to_have_count(2)
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height < 1200, f"the receipt with two events is {height} px tall on a phone"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await rows.locator("td:nth-child(2)").all_text_contents() == ["Created", "Viewed"]
    assert "refreshes itself" in str(await page.text_content("#updated"))

    # The browser in a few words; the whole user-agent string on demand.
    summaries = await rows.locator("td:nth-child(4) summary").all_text_contents()
    assert len(summaries) == 2 and all("Chrome on Linux" in s for s in summaries), summaries
    full = rows.nth(1).locator(".agent-full")
    await expect(full).to_be_hidden()
    await rows.nth(1).locator("summary").click()
    await expect(full).to_be_visible()
    await expect(full).to_have_text(agent)

    # Times to the second, with the reader's zone; how long ago and until.
    when = str(await rows.nth(1).locator("td").first.text_content())
    assert re.search(r"\d{1,2}:\d\d:\d\d", when) and re.search(r"\bE[SD]T\b", when), when
    assert re.search(r"(ago|just now)$", when), when
    expires = str(await page.text_content("#expires"))
    assert re.match(r"in \d+ (days?|hours?|minutes?)\b", expires), expires
    assert re.search(r"\d{1,2}:\d\d:\d\d\s?[AP]M E[SD]T", expires), expires
    assert "ago" in str(await page.text_content("#created"))

    # Counts and states in the project's words, with colours that read.
    assert await page.text_content("#views") == "1 of 2"
    assert await page.text_content("#views-left") == "1 view left"
    assert await page.text_content("#state") == "Active"
    badges = {
        "state": page.locator("#state"),
        "created": rows.nth(0).locator(".badge"),
        "viewed": rows.nth(1).locator(".badge"),
    }
    found = {name: await colours(badge) for name, badge in badges.items()}
    assert len({background for _, background in found.values()}) == 3, found
    for name, (text, background) in found.items():
        assert contrast(text, background) >= 4.5, (name, text, background)
    assert await serious_violations(page) == []


async def test_each_state_has_its_words_and_its_colour_in_light_and_dark(
    site: str, new_context: NewContext, db: asyncpg.Connection
) -> None:
    sender, _ = await new_context()
    recipient, _ = await new_context()
    receipts: dict[str, Link] = {}

    _, receipts["Active"] = await create_secret(sender, site, secret_text())

    share, receipts["Viewed"] = await create_secret(sender, site, secret_text())
    await reveal(await open_landing(recipient, str(share)))

    share, receipts["Destroyed"] = await create_secret(
        sender, site, secret_text(), passphrase=secret_passphrase()
    )
    page = await open_landing(recipient, str(share))
    for _ in range(5):
        await reveal(page, "a wrong guess")
    assert "destroyed" in str(await page.text_content("#status"))

    share, receipts["Revoked"] = await create_secret(sender, site, secret_text())
    page = await open_receipt(sender, str(receipts["Revoked"]))
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Revoke the secret now").click()
    await expect(page.locator("#state")).to_have_text("Revoked")

    # Time passes for one secret: a week, in a moment.
    share, receipts["Expired"] = await create_secret(sender, site, secret_text())
    await db.execute("UPDATE secrets SET expires_at = now() WHERE id = $1", share.id)
    await db.execute("UPDATE receipts SET expires_at = now() WHERE id = $1", share.id)

    events = {
        "Active": ["Created"],
        "Viewed": ["Created", "Viewed"],
        "Revoked": ["Created", "Revoked"],
    }
    tones: dict[str, dict[Scheme, str]] = {}
    for state, link in receipts.items():
        page = await open_receipt(sender, str(link))
        await expect(page.locator("#state")).to_have_text(state)
        what = await page.locator("#events tbody td:nth-child(2)").all_text_contents()
        if state in events:
            assert what == events[state], (state, what)
        if state == "Destroyed":
            assert "Wrong passphrase" in what
            assert what[-1] == "Destroyed after too many wrong passphrases", what
        if state == "Viewed":
            assert await page.text_content("#views-left") == "viewed once"
        detail = str(await page.text_content("#state-detail"))
        assert ("gone" in detail) == (state != "Active"), (state, detail)
        assert await page.is_visible("#revoke") == (state == "Active")
        tones[state] = {}
        for scheme in SCHEMES:
            await page.emulate_media(color_scheme=scheme)
            text, background = await colours(page.locator("#state"))
            assert contrast(text, background) >= 4.5, (state, scheme, text, background)
            tones[state][scheme] = background
        await page.close()
    for scheme in SCHEMES:
        backgrounds = {state: by_scheme[scheme] for state, by_scheme in tones.items()}
        assert len(set(backgrounds.values())) == len(backgrounds), (scheme, backgrounds)


async def test_the_receipt_shows_a_view_without_a_reload(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    share, receipt = await create_secret(sender, site, secret_text())
    page = await open_receipt(sender, str(receipt))
    rows = page.locator("#events tbody tr")
    await expect(rows).to_have_count(1)
    await page.evaluate("window.notReloaded = true")

    recipient, _ = await new_context()
    await reveal(await open_landing(recipient, str(share)))

    await expect(rows).to_have_count(2, timeout=20_000)  # without a click or a reload
    assert await page.evaluate("window.notReloaded") is True
    await expect(page.locator("#state")).to_have_text("Viewed")
    await expect(rows.locator("td:nth-child(2)")).to_have_text(["Created", "Viewed"])
    assert await page.is_hidden("#revoke")
    assert "refreshes itself" not in str(await page.text_content("#updated"))


async def test_a_receipt_link_without_its_key_tells_the_sender_what_to_do(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    _, receipt = await create_secret(sender, site, secret_text())
    page = await open_receipt(sender, f"{receipt.base}/r/{receipt.id}")
    status = str(await page.text_content("#status"))
    assert "receipt link is missing its key" in status, status
    assert "you got when you created the secret" in status
    assert "ask the sender" not in status.lower()

    await page.evaluate("window.sameDocument = true")
    await page.goto(str(receipt))  # the key pasted after the address: Enter
    await page.wait_for_selector("#receipt:not([hidden])")
    assert await page.evaluate("window.sameDocument") is True
    await expect(page.locator("#state")).to_have_text("Active")

    glued = await open_receipt(sender, f"{receipt}).")
    await expect(glued.locator("#state")).to_have_text("Active")
    assert glued.url == str(receipt)
