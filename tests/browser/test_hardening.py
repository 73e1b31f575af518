"""Review findings that a person meets in the browser (docs/security.md)."""

from __future__ import annotations

import contextlib

from playwright.async_api import Error as PlaywrightError

from tests.support.browser import FileToShare, create_secret, open_landing, reveal
from tests.support.fixtures_types import NewContext
from tests.support.sealing import secret_text

HOSTILE_PAGE = b"<script>document.title = 'pwned'</script><h1>invoice</h1>"


async def test_a_sender_s_html_file_downloads_as_bytes_never_as_a_page(
    site: str, new_context: NewContext
) -> None:
    """Finding 3: the download's blob carries no type of the sender's choosing, so
    its URL opened in a tab is saved, not rendered in our origin."""
    sender, _ = await new_context()
    files = (
        FileToShare("invoice.html", HOSTILE_PAGE, "text/html"),
        FileToShare("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    )
    share, _ = await create_secret(sender, site, secret_text(), files=files)
    recipient, _ = await new_context(accept_downloads=True)
    page = await open_landing(recipient, str(share))
    await reveal(page)
    hrefs = await page.eval_on_selector_all("#file-list a", "links => links.map(a => a.href)")
    assert len(hrefs) == 2 and all(href.startswith("blob:") for href in hrefs)
    for href in hrefs:
        # The download's URL pasted into a tab: it must be saved, never shown as a page.
        tab = await recipient.new_page()
        async with tab.expect_download(timeout=10_000) as pending:
            with contextlib.suppress(PlaywrightError):  # "Download is starting"
                await tab.goto(href)
        assert (await pending.value).url == href
        await tab.close()
