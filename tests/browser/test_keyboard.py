"""Share and open a secret with the keyboard alone."""

from __future__ import annotations

from playwright.async_api import Page

from services.client.links import parse_link
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_text


async def tab_to(page: Page, element_id: str, limit: int = 30) -> None:
    """Press Tab until ``element_id`` has the focus, and check the focus is visible."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == element_id:
            outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on #{element_id}"
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


async def test_a_secret_can_be_shared_and_opened_with_the_keyboard_only(
    site: str, new_context: NewContext
) -> None:
    text = secret_text()
    sender, _ = await new_context()
    page = await sender.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await tab_to(page, "secret-text")
    await page.keyboard.type(text)
    await tab_to(page, "create-button")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#result:not([hidden])")
    assert await page.evaluate("document.activeElement.id") == "result-title"
    share = parse_link(await page.input_value("#share-link"), "s")
    LEAK_WATCH.add_share_link(share)

    recipient, _ = await new_context()
    landing = await recipient.new_page()
    await landing.goto(str(share))
    await landing.wait_for_selector("#reveal-form:not([hidden])")
    await tab_to(landing, "reveal-button")
    await landing.keyboard.press("Enter")
    await landing.wait_for_selector("#revealed:not([hidden])")
    assert await landing.input_value("#secret-text") == text
    assert await landing.evaluate("document.activeElement.id") == "revealed-title"
