"""The browser of the tests: Debian's Chromium with its flags, and what a person
does on the pages, as Playwright steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import BrowserContext, FilePayload, Page, Request

from services.client.links import Link, parse_link
from tests.support.leaks import LEAK_WATCH

CHROMIUM = Path("/usr/bin/chromium")
# The flags keep Chromium from calling home; the machine's network is closed anyway.
PLAIN_HOST = "burnafter.test"
"""A host name that is not localhost: over plain http to it, browsers withhold
WebCrypto (no secure context). The ``plain_http_browser`` fixture resolves it to
loopback."""
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


@dataclass
class RequestLog:
    """Every request a browser context sent: URL, headers and body."""

    requests: list[bytes] = field(default_factory=list)

    def record(self, request: Request) -> None:
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        body = request.post_data_buffer or b""
        self.requests.append(f"{request.method} {request.url}\n{headers}\n\n".encode() + body)


@dataclass(frozen=True)
class FileToShare:
    name: str
    data: bytes
    type: str = "application/octet-stream"


async def create_secret(
    context: BrowserContext,
    site: str,
    text: str,
    *,
    files: tuple[FileToShare, ...] = (),
    passphrase: str | None = None,
    views: int = 1,
    label: str | None = None,
    recipient_may_delete: bool = False,
) -> tuple[Link, Link]:
    """Fill the create page and submit; return the share and receipt links."""
    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", text)
    if files:
        await page.set_input_files(
            "#secret-files",
            [FilePayload(name=f.name, mimeType=f.type, buffer=f.data) for f in files],
        )
    await page.fill("#views", str(views))
    if recipient_may_delete:
        await page.get_by_label("Let the recipient delete it when done").check()
    if passphrase or label:
        await page.click(".more-options summary")
    if passphrase:
        await page.fill("#passphrase", passphrase)
    if label:
        await page.fill("#label", label)
    await page.click("#create-button")
    await page.wait_for_selector("#result:not([hidden])")
    share = parse_link(await page.input_value("#share-link"), "s")
    receipt = parse_link(await page.input_value("#receipt-link"), "r")
    LEAK_WATCH.add_share_link(share, passphrase)
    LEAK_WATCH.add_receipt_link(receipt)
    await page.close()
    return share, receipt


# Headless Chromium has showSaveFilePicker, but it fails at once: this answers the
# dialog with a file in the site's private storage, so the page's own writing code
# runs and only the dialog is stood in for.
SAVE_DIALOG = """
window.showSaveFilePicker = async ({ suggestedName }) => {
  const root = await navigator.storage.getDirectory();
  return root.getFileHandle(suggestedName, { create: true });
};
"""


async def open_landing(context: BrowserContext, link: str) -> Page:
    """Load a share link and wait until the page has checked it (no view spent)."""
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector("#reveal-form:not([hidden]), #status.notice-error")
    return page


async def open_receipt(context: BrowserContext, link: str) -> Page:
    """Load a receipt link and wait until the page has read the receipt (or failed)."""
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector("#receipt:not([hidden]), #status.notice-error")
    return page


async def reveal(page: Page, passphrase: str | None = None) -> None:
    if passphrase is not None:
        await page.fill("#passphrase", passphrase)
    await page.click("#reveal-button")
    # A v2 secret's small files arrive after its text: wait until they are on the page.
    await page.wait_for_selector(
        "#revealed:not([hidden]):not([aria-busy=true]), #reveal-error:not([hidden]),"
        " #status.notice-error"
    )


async def download_all(page: Page, folder: Path) -> dict[str, bytes]:
    """Click every download link; return name → bytes."""
    saved = {}
    for link in await page.query_selector_all("#file-list a"):
        async with page.expect_download() as pending:
            await link.click()
        download = await pending.value
        target = folder / download.suggested_filename
        await download.save_as(target)
        saved[download.suggested_filename] = target.read_bytes()
    return saved


# The request pages (issue 17): ask, answer with a fill link, collect.


async def ask_in_browser(
    context: BrowserContext, site: str, note: str, *, email: bool = False
) -> tuple[Link, Link, Page]:
    """Fill the ask page (asking for an email, if ``email``) and submit; the fill and
    collect links it shows."""
    page = await context.new_page()
    await page.goto(f"{site}/ask")
    await page.wait_for_selector("#max-size option", state="attached")
    await page.fill("#note", note)
    if email:
        await page.click(".more-options summary")
        await page.check("#email")
    await page.click("#ask-button")
    await page.wait_for_selector("#result:not([hidden]), #ask-error:not([hidden])")
    assert await page.is_hidden("#ask-error"), await page.text_content("#ask-error")
    fill = parse_link(await page.input_value("#fill-link"), "q")
    collect = parse_link(await page.input_value("#collect-link"), "c")
    LEAK_WATCH.add("fill link key", fill.key)
    LEAK_WATCH.add("private key", collect.key)
    return fill, collect, page


async def open_fill(context: BrowserContext, link: str) -> Page:
    """Load a fill link and wait until the page has read the request, or said why not."""
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector("#answer-form:not([hidden]), #status.notice-error")
    return page


async def open_collect(context: BrowserContext, link: str) -> Page:
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector("#request:not([hidden]), #status.notice-error")
    return page


async def reveal_answer(page: Page) -> None:
    await page.click("#reveal-button")
    await page.wait_for_selector(
        "#revealed:not([hidden]):not([aria-busy=true]), #reveal-error:not([hidden])"
    )
    assert await page.is_hidden("#reveal-error"), await page.text_content("#reveal-error")
