"""Several recipients on the pages (issue 16), as a sender and the people they share
with meet them: a row per person on the create page, one link each (with its own
passphrase and views), "Copy all", each link opened once (in a browser or with the
CLI), a receipt that names who opened and counts a wrong passphrase against that
link only, a revoke per person, and names that never leave the browser in clear."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from playwright.async_api import BrowserContext, FilePayload, Locator, Page, ViewportSize, expect

from services.client.links import Link, parse_link
from services.server.settings import Settings
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_keyboard import tab_to
from tests.support.browser import RequestLog, download_all, open_landing, open_receipt, reveal
from tests.support.cli import cli
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_passphrase, secret_text
from tests.support.services import make_settings

PHONE: ViewportSize = {"width": 390, "height": 844}
MAX_RECIPIENTS = 4
# Long enough for the leak watch to look for them (12 bytes or more), and not ASCII.
ANA, BEN, CHLOE = "Ana Lindqvist-Moreau", "Benedikt Øster-Haug", "Chloé Marchetti-Vale"
DMITRI, ELEANOR = "Dmitri Vasquez-Holm", "Eleanor Ngata-Brandt"
GONE = "is gone"
ADD = re.compile(r"^Add (a|another) recipient$")


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    """A server that takes at most four recipients a share: few enough to reach."""
    return make_settings(database_url, MAX_RECIPIENTS=str(MAX_RECIPIENTS))


async def open_create_page(context: BrowserContext, site: str) -> Page:
    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    return page


def rows(page: Page) -> Locator:
    return page.locator("#recipient-list > li")


async def add_recipient(
    page: Page, name: str, *, passphrase: str | None = None, views: int | None = None
) -> None:
    """Click "Add a recipient" and type the name where the focus lands."""
    await page.get_by_role("button", name=ADD).click()
    row = rows(page).last
    await expect(row.get_by_label("Name")).to_be_focused()
    await page.keyboard.type(name)
    if views is not None:
        await row.get_by_label("Views").fill(str(views))
    if passphrase is not None:
        await row.get_by_label("Own passphrase").click()
        await page.keyboard.type(passphrase)
    LEAK_WATCH.add("recipient name", name)


async def create(page: Page) -> tuple[dict[str, Link], Link]:
    """Click Create; answer each person's link by name (as "Copy all" put them on the
    clipboard, in order), and the receipt link."""
    await page.click("#create-button")
    await page.wait_for_selector("#result:not([hidden]), #create-error:not([hidden])")
    assert await page.is_hidden("#create-error"), await page.text_content("#create-error")
    await page.get_by_role("button", name="Copy all").click()
    await expect(page.locator("#copy-all")).to_have_text("Copied")  # its name, for 2 s
    copied = str(await page.evaluate("navigator.clipboard.readText()"))
    links = {}
    for line in copied.splitlines():
        name, _, link = line.partition(": ")
        links[name] = parse_link(link, "s")
    receipt = parse_link(await page.input_value("#receipt-link"), "r")
    LEAK_WATCH.add_receipt_link(receipt)
    return links, receipt


def posted_create(log: RequestLog) -> dict[str, Any]:
    """The body of the one POST /contents the sender's browser sent."""
    bodies = [
        r.partition(b"\n\n")[2]
        for r in log.requests
        if r.startswith(b"POST ") and b"/api/v1/contents\n" in r
    ]
    assert len(bodies) == 1, len(bodies)
    body: dict[str, Any] = json.loads(bodies[0])
    return body


def never_in_clear(log: RequestLog, *names: str) -> None:
    """No request of the sender's browser holds a name in clear, nor in a URL."""
    for request in log.requests:
        for name in names:
            forms = (name, json.dumps(name), quote(name), quote_plus(name), name.encode().hex())
            for form in forms:
                assert form.encode() not in request, (name, request[:200])


def line_of(page: Page, name: str) -> Locator:
    """A recipient's line on the receipt page, found by the name it shows."""
    return page.locator("#recipients > li").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


async def clipboard_context(new_context: NewContext) -> tuple[BrowserContext, RequestLog]:
    """A sender's browser whose page may write and read the clipboard."""
    context, log = await new_context()
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    return context, log


async def test_three_people_each_open_their_own_link_once(
    site: str, new_context: NewContext
) -> None:
    sender, log = await clipboard_context(new_context)
    page = await open_create_page(sender, site)
    text = secret_text()
    await page.fill("#secret-text", text)
    passphrase = secret_passphrase()
    await add_recipient(page, ANA)
    await add_recipient(page, BEN, passphrase=passphrase)
    await add_recipient(page, CHLOE, views=2)
    await expect(page.locator("#create-button")).to_have_text("Create 3 secret links")
    links, receipt = await create(page)

    # The result: a line per person, in order, with a copy button and a QR code each.
    assert list(links) == [ANA, BEN, CHLOE]
    await expect(page.locator("#recipient-results")).to_be_visible()
    items = page.locator("#recipient-links > li")
    await expect(items.locator("h3")).to_have_text([ANA, BEN, CHLOE])
    await expect(items.locator("canvas")).to_have_count(3)
    await expect(page.get_by_role("button", name=f"Copy link for {BEN}")).to_be_visible()
    assert await page.input_value(f'[aria-label="Link for {BEN}"]') == str(links[BEN])
    assert await page.is_hidden("#share-link")
    assert await page.is_visible("#passphrase-reminder")
    assert len({link.id for link in links.values()} | {receipt.id}) == 3  # the share's id is Ana's
    assert receipt.id == links[ANA].id
    for name, link in links.items():
        LEAK_WATCH.add_share_link(link, passphrase if name == BEN else None)

    # The body: the content once, a link per recipient, no per-link field on top.
    body = posted_create(log)
    assert len(body["recipients"]) == 3
    assert not {"claim_verifier", "unlock_verifier", "wrapped_key", "max_views"} & set(body)
    assert [sorted(r) for r in body["recipients"]] == [
        ["claim_verifier", "max_views", "name", "wrapped_key"],
        ["claim_verifier", "max_views", "name", "unlock_verifier", "wrapped_key"],
        ["claim_verifier", "max_views", "name", "wrapped_key"],
    ]
    assert [r["max_views"] for r in body["recipients"]] == [1, 1, 2]
    never_in_clear(log, ANA, BEN, CHLOE)

    # Ana opens hers in a browser; a second open of it finds it gone.
    ana, _ = await new_context()
    landing = await open_landing(ana, str(links[ANA]))
    await reveal(landing)
    assert await landing.input_value("#secret-text") == text
    again, _ = await new_context()
    spent = await open_landing(again, str(links[ANA]))
    assert GONE in str(await spent.text_content("#status"))

    # Ben types a wrong passphrase, then his own.
    ben, _ = await new_context()
    landing = await open_landing(ben, str(links[BEN]))
    await reveal(landing, "not the passphrase")
    assert "Wrong passphrase" in str(await landing.text_content("#reveal-error"))
    await reveal(landing, passphrase)
    await landing.wait_for_selector("#revealed:not([hidden]):not([aria-busy=true])")
    assert await landing.input_value("#secret-text") == text

    # Chloé opens hers with the command line: one of her two views.
    opened = await cli("open", str(links[CHLOE]), "--json")
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["text"] == text

    # The receipt: who opened, the wrong passphrase against Ben's link only.
    page = await open_receipt(sender, str(receipt))
    await expect(page.locator("#recipients-section")).to_be_visible()
    await expect(page.locator("#recipients > li h3")).to_have_text([ANA, BEN, CHLOE])
    assert await page.is_hidden("#for-fact")
    await expect(line_of(page, ANA).locator(".badge")).to_have_text("Viewed")
    await expect(line_of(page, BEN).locator(".badge")).to_have_text("Viewed")
    await expect(line_of(page, CHLOE).locator(".badge")).to_have_text("Active")
    facts = {
        name: str(await line_of(page, name).locator(".recipient-facts").text_content())
        for name in (ANA, BEN, CHLOE)
    }
    assert facts[ANA].startswith("1 of 1 view") and "passphrase" not in facts[ANA], facts
    assert "1 wrong passphrase of 5" in facts[BEN], facts
    assert facts[CHLOE].startswith("1 of 2 views") and "ended" not in facts[CHLOE], facts
    assert "ended" in facts[ANA] and "ended" in facts[BEN]
    await expect(
        page.get_by_role("button", name=re.compile(r"^Revoke the link for"))
    ).to_have_count(1)
    await expect(page.get_by_role("button", name=f"Revoke the link for {CHLOE}")).to_be_visible()
    await expect(page.locator("#state")).to_have_text("Active")
    assert "1 of 3 links still work" in str(await page.text_content("#state-detail"))
    assert await page.text_content("#views") == "3 of 4"
    assert await page.is_hidden("#attempts-row")

    events = page.locator("#events tbody tr")
    said = [
        " ".join(str(t).split())
        for t in await events.locator("td:nth-child(2)").all_text_contents()
    ]
    assert "Viewed link for " + ANA in said and "Viewed link for " + BEN in said, said
    assert "Viewed link for " + CHLOE in said, said
    assert said.count("Wrong passphrase link for " + BEN) == 1, said
    assert not any("Wrong passphrase" in s and BEN not in s for s in said), said
    never_in_clear(log, ANA, BEN, CHLOE)  # the receipt page opened the names here


async def test_revoking_one_recipient_leaves_the_others_working(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    """A file in two segments, uploaded once for both links; one revoked, then all."""
    sender, log = await clipboard_context(new_context)
    page = await open_create_page(sender, site)
    text = secret_text()
    await page.fill("#secret-text", text)
    data = os.urandom(1536 * 1024)  # more than one segment (1 MiB)
    LEAK_WATCH.add("file", data[:64])
    await page.set_input_files(
        "#secret-files",
        FilePayload(name="runbook.bin", mimeType="application/octet-stream", buffer=data),
    )
    await add_recipient(page, DMITRI)
    await add_recipient(page, ELEANOR, views=2)
    links, receipt = await create(page)
    for link in links.values():
        LEAK_WATCH.add_share_link(link)
    puts = [r.split(b"\n")[0].split(b" ")[1] for r in log.requests if r.startswith(b"PUT ")]
    assert [p.rsplit(b"/", 1)[1] for p in puts] == [b"1"], puts  # once, to the share
    assert receipt.id.encode() in puts[0]

    page = await open_receipt(sender, str(receipt))
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name=f"Revoke the link for {DMITRI}").click()
    await expect(line_of(page, DMITRI).locator(".badge")).to_have_text("Revoked")
    await expect(line_of(page, DMITRI).get_by_role("heading")).to_be_focused()
    await expect(line_of(page, ELEANOR).locator(".badge")).to_have_text("Active")
    await expect(page.locator("#state")).to_have_text("Active")

    # Dmitri's link is gone; Eleanor's opens, in a browser and with the CLI.
    recipient, _ = await new_context()
    revoked = await open_landing(recipient, str(links[DMITRI]))
    assert GONE in str(await revoked.text_content("#status"))
    landing = await open_landing(recipient, str(links[ELEANOR]))
    await reveal(landing)
    assert await landing.input_value("#secret-text") == text
    assert await download_all(landing, tmp_path) == {"runbook.bin": data}

    # "Revoke every link now" ends the rest: her second view is gone too.
    await page.get_by_role("button", name="Refresh").click()
    await expect(line_of(page, ELEANOR).locator(".recipient-facts")).to_contain_text("1 of 2 views")
    await page.get_by_role("button", name="Revoke every link now").click()
    await expect(line_of(page, ELEANOR).locator(".badge")).to_have_text("Revoked")
    await expect(page.locator("#state")).to_have_text("Revoked")
    assert "Every link has ended" in str(await page.text_content("#state-detail"))
    assert await page.is_hidden("#revoke")
    await expect(page.get_by_role("button", name=re.compile("^Revoke the link"))).to_have_count(0)
    opened = await cli("open", str(links[ELEANOR]))
    assert opened.returncode != 0
    assert text.encode() not in opened.stdout
    never_in_clear(log, DMITRI, ELEANOR)


async def test_recipient_rows_on_a_phone_by_keyboard(site: str, new_context: NewContext) -> None:
    """The rows on a 390 px screen: added and removed with the keyboard, at most
    MAX_RECIPIENTS, a name required and at most 256 bytes; with every row removed
    the page creates one link, as before."""
    sender, log = await new_context(bypass_csp=True)  # axe is injected as a script
    page = await sender.new_page()
    await page.set_viewport_size(PHONE)
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", secret_text())
    await page.fill("#views", "3")  # the rows' views start from the form's

    await tab_to(page, "add-recipient", limit=40)
    await page.keyboard.press("Enter")
    await page.keyboard.type("Farid Okonkwo-Lund")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.value") == "3"
    for name in ("Greta", "Hiroshi", "Ines"):
        await tab_to(page, "add-recipient", limit=10)
        await page.keyboard.press("Enter")
        await page.keyboard.type(name)
    await expect(rows(page)).to_have_count(MAX_RECIPIENTS)
    assert await page.is_disabled("#add-recipient")
    assert f"at most {MAX_RECIPIENTS} people" in str(await page.text_content("#recipient-note"))
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await serious_violations(page) == []

    # Remove the second with the keyboard: the third takes its place, and the focus.
    remove = rows(page).nth(1).get_by_role("button", name="Remove recipient 2")
    await remove.focus()
    await page.keyboard.press("Enter")
    await expect(rows(page).locator("legend")).to_have_text(
        ["Recipient 1", "Recipient 2", "Recipient 3"]
    )
    await expect(rows(page).nth(1).get_by_label("Name")).to_be_focused()
    await expect(rows(page).nth(1).get_by_label("Name")).to_have_value("Hiroshi")
    assert await page.is_enabled("#add-recipient")

    # A name is needed, and at most 256 bytes: said, and nothing is sent.
    await rows(page).nth(1).get_by_label("Name").fill("")
    await page.click("#create-button")
    error = page.locator("#create-error")
    await expect(error).to_contain_text("Recipient 2: Type their name")
    await expect(rows(page).nth(1).get_by_label("Name")).to_be_focused()
    await expect(rows(page).nth(1).get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await page.keyboard.type("é" * 129)  # 258 bytes
    await expect(rows(page).nth(1).locator(".field-problem")).to_contain_text("at most 256 bytes")
    await page.click("#create-button")
    await expect(error).to_contain_text("Recipient 2: The name is too long")
    assert not any(b"/api/v1/contents" in r for r in log.requests)

    # Every row removed: one link, posted as before.
    while await rows(page).count():
        await rows(page).first.get_by_role("button", name="Remove recipient 1").click()
    await expect(page.locator("#add-recipient")).to_be_focused()
    await expect(page.locator("#create-button")).to_have_text("Create secret link")
    await page.click("#create-button")
    await page.wait_for_selector("#result:not([hidden])")
    share = parse_link(await page.input_value("#share-link"), "s")
    LEAK_WATCH.add_share_link(share)
    LEAK_WATCH.add_receipt_link(parse_link(await page.input_value("#receipt-link"), "r"))
    body = posted_create(log)
    assert "recipients" not in body and body["max_views"] == 3 and "claim_verifier" in body
    assert await page.is_visible("#share-qr") and await page.is_hidden("#recipient-results")


async def test_one_named_recipient_has_the_receipt_of_one_link(
    site: str, new_context: NewContext
) -> None:
    """One recipient added: one link with its name; the receipt looks as a one-link
    receipt does, with the name beside the state."""
    sender, log = await clipboard_context(new_context)
    page = await open_create_page(sender, site)
    await page.fill("#secret-text", secret_text())
    await add_recipient(page, DMITRI, views=2)
    await expect(page.locator("#create-button")).to_have_text("Create secret link")
    links, receipt = await create(page)
    assert list(links) == [DMITRI]
    LEAK_WATCH.add_share_link(links[DMITRI])
    await expect(page.locator("#result-title")).to_have_text("Your secret link is ready")
    assert len(posted_create(log)["recipients"]) == 1

    page = await open_receipt(sender, str(receipt))
    await expect(page.locator("#for-name")).to_have_text(DMITRI)
    await expect(page.locator("#for-name")).to_be_visible()
    assert await page.is_hidden("#recipients-section")
    assert await page.text_content("#views") == "0 of 2"
    await expect(page.get_by_role("button", name="Revoke the secret now")).to_be_visible()
    what = await page.locator("#events tbody td:nth-child(2)").all_text_contents()
    assert what == ["Created"], what
    never_in_clear(log, DMITRI)
