"""A recipient deletes a multi-view secret when done, where its sender allowed it
(issue 14): ticked on the create page, clicked on the open page, shown on the
receipt, in Chromium."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import create_secret, open_landing, open_receipt, reveal
from tests.support.fixtures_types import NewContext
from tests.support.sealing import secret_text

ALLOW = "Let the recipient delete it when done"
DELETE = "Delete the secret now"


async def test_the_choice_is_offered_only_for_more_than_one_view(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    page = await sender.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await expect(page.get_by_label(ALLOW)).to_be_hidden()  # one view: nothing left to delete
    await page.fill("#views", "3")
    await expect(page.get_by_label(ALLOW)).to_be_visible()
    await page.fill("#views", "1")
    await expect(page.get_by_label(ALLOW)).to_be_hidden()


async def test_a_recipient_deletes_it_and_everyone_sees_it_is_gone(
    site: str, new_context: NewContext
) -> None:
    text = secret_text()
    sender, _ = await new_context()
    share, receipt = await create_secret(sender, site, text, views=3, recipient_may_delete=True)
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))
    await reveal(page)
    await page.get_by_role("button", name=DELETE).click()
    notice = page.locator("#spent-notice")
    await expect(notice).to_contain_text("You deleted this secret")
    await expect(page.get_by_role("button", name=DELETE)).to_be_hidden()
    assert await page.input_value("#secret-text") == text  # still there to copy

    await page.reload()  # the key left the address bar; the tab remembers what it did
    await page.wait_for_selector("#status.notice-error")
    await expect(page.locator("#status")).to_contain_text("You deleted this secret")

    someone_else, _ = await new_context()
    late = await open_landing(someone_else, str(share))
    await expect(late.locator("#status")).to_contain_text("revoked or deleted")
    assert await late.is_hidden("#reveal-form")

    receipt_page = await open_receipt(sender, str(receipt))
    await expect(receipt_page.locator("#state")).to_have_text("Deleted")
    await expect(receipt_page.locator("#state-detail")).to_contain_text("recipient deleted it")
    events = receipt_page.locator("#events tbody td:nth-child(2)")
    await expect(events).to_have_text(["Created", "Viewed", "Deleted by the recipient"])
    assert await receipt_page.is_hidden("#revoke")


async def test_without_the_senders_leave_no_delete_is_offered(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context()
    share, receipt = await create_secret(sender, site, secret_text(), views=3)
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))
    await reveal(page)
    await expect(page.locator("#spent-notice")).to_contain_text("2 views left")
    await expect(page.get_by_role("button", name=DELETE)).to_be_hidden()
    receipt_page = await open_receipt(sender, str(receipt))
    await expect(receipt_page.locator("#state-detail")).not_to_contain_text("deletes it")
