"""Large files through the pages (protocol v2), by clicking and typing: a 64 MiB file
from one browser to another in segments, byte for byte, with a labelled progress
bar both ways; the same from the page to the CLI and from the CLI to the page; a
dropped connection that resumes by itself; Cancel; the limit said on attach; and a
password that is still one request."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Request, Route

from services.client.links import Link, parse_link
from services.server.settings import Settings
from tests.support.browser import SAVE_DIALOG, open_landing, reveal
from tests.support.cli import cli, watch_cli_links
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_text
from tests.support.services import make_settings

MiB = 1024 * 1024
SEGMENT_SIZE = 256 * 1024
SEGMENT_PATH = re.compile(r"/api/v1/contents/[^/]+/segments/(\d+)$")

# The save dialog, as a person would answer it, backed by the origin's private file
# system: headless Chromium has showSaveFilePicker but closes it at once (AbortError).
# What the page does with the handle it gets (createWritable, write, close) is real.
NO_DISK_ACCESS = "delete window.showSaveFilePicker; delete window.showDirectoryPicker;"
SAVED_FILE_SHA256 = """async (name) => {
  const root = await navigator.storage.getDirectory();
  const file = await (await root.getFileHandle(name)).getFile();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}"""
# Every text a progress label shows, kept in the page as it changes.
WATCH_LABEL = """(id) => {
  const label = document.getElementById(id);
  window.seen = window.seen || {};
  window.seen[id] = [];
  new MutationObserver(() => window.seen[id].push(label.textContent))
    .observe(label, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    """The default limit (100 MiB), in segments of 256 KiB: a 64 MiB file is 257 of them."""
    return make_settings(database_url, SEGMENT_SIZE=str(SEGMENT_SIZE))


def random_file(folder: Path, name: str, size: int) -> Path:
    """A file of random bytes on disk (Playwright sends a buffer of at most 50 MB)."""
    path = folder / name
    with path.open("wb") as out:
        for _ in range(size // MiB):
            out.write(os.urandom(MiB))
        out.write(os.urandom(size % MiB))
    LEAK_WATCH.add("file", path.read_bytes()[:64])
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


async def fill_create_page(
    page: Page, site: str, text: str, files: list[Path], views: int = 1
) -> None:
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", text)
    if files:
        await page.set_input_files("#secret-files", files)
    await page.fill("#views", str(views))


async def share_link(page: Page) -> Link:
    """Wait for the result (or an error), and watch its keys for leaks."""
    await page.wait_for_selector(
        "#result:not([hidden]), #create-error:not([hidden])", timeout=180_000
    )
    assert await page.is_hidden("#create-error"), await page.text_content("#create-error")
    share = parse_link(await page.input_value("#share-link"), "s")
    LEAK_WATCH.add_share_link(share)
    LEAK_WATCH.add_receipt_link(parse_link(await page.input_value("#receipt-link"), "r"))
    return share


def cut_once(index: int, method: str, cut: list[int]) -> Callable[[Route], object]:
    """A route handler that drops the connection of segment ``index``'s first request."""

    async def handle(route: Route) -> None:
        found = SEGMENT_PATH.search(route.request.url)
        if route.request.method == method and found and int(found[1]) == index and not cut:
            cut.append(index)
            await route.abort("connectionreset")
        else:
            await route.continue_()

    return handle


async def labels_seen(page: Page, label_id: str) -> list[str]:
    return list(await page.evaluate(f"window.seen[{label_id!r}]"))


def segments_requested(page: Page, method: str) -> list[int]:
    """The index of each segment ``page`` sends a ``method`` request for from now on,
    kept in the list answered as they go."""
    indexes: list[int] = []

    def note(request: Request) -> None:
        found = SEGMENT_PATH.search(request.url)
        if request.method == method and found:
            indexes.append(int(found[1]))

    page.on("request", note)
    return indexes


def assert_many_segments(indexes: list[int], size: int) -> None:
    """Every segment after the first (which goes with the create, or comes with the
    reveal), each in its own request: at least one per SEGMENT_SIZE of the file."""
    assert sorted(set(indexes)) == list(range(1, len(set(indexes)) + 1)), indexes
    assert len(set(indexes)) >= size // SEGMENT_SIZE


async def send_on_the_page(
    new_context: NewContext, site: str, text: str, source: Path, views: int = 1
) -> tuple[Link, list[int]]:
    """A person attaches ``source`` on the create page with ``text`` and creates the
    link; the labelled progress bar moves on the way to 100 %. Answers the share link
    read from the page, and the segments the page uploaded."""
    sender, _ = await new_context()
    page = await sender.new_page()
    await fill_create_page(page, site, text, [source], views=views)
    uploaded = segments_requested(page, "PUT")
    await page.evaluate(WATCH_LABEL, "upload-label")
    await page.click("#create-button")
    doing = f"Encrypting and uploading {source.name}"
    await page.get_by_role(
        "progressbar", name=re.compile(rf"{re.escape(doing)} — \d+ %")
    ).wait_for()
    share = await share_link(page)
    seen = await labels_seen(page, "upload-label")
    assert seen[-1] == f"{doing} — 100 %", seen[-3:]
    assert len(set(seen)) > 10  # it moved on the way
    return share, uploaded


async def open_to_save_to_disk(new_context: NewContext, share: Link) -> Page:
    """The share link in a browser that can write to disk (the save dialog answered
    into the origin's private file system), before the view is spent."""
    recipient, _ = await new_context()
    await recipient.add_init_script(SAVE_DIALOG)
    return await open_landing(recipient, str(share))


async def save_on_the_page(landing: Page, name: str) -> str:
    """On a revealed page, a person clicks Save for the file ``name``; the page asks
    where, writes it as it arrives under a labelled progress bar, and closes the
    download grant. Answers the SHA-256 of the file saved."""
    assert await landing.text_content("#save-button") == f"Save {name}…"
    finished: asyncio.Future[Request] = asyncio.get_running_loop().create_future()

    def note_downloaded(request: Request) -> None:
        if request.url.endswith("/downloaded") and not finished.done():
            finished.set_result(request)

    landing.on("requestfinished", note_downloaded)
    await landing.evaluate(WATCH_LABEL, "download-label")
    await landing.click("#save-button")
    doing = f"Downloading and decrypting {name}"
    await landing.get_by_role("progressbar", name=re.compile(re.escape(doing))).wait_for()
    await landing.wait_for_selector(f"#file-list li:has-text('{name}: saved')", timeout=180_000)
    shown = await labels_seen(landing, "download-label")
    assert shown[-1] == f"{doing} — 100 %", shown[-3:]
    answer = await (await asyncio.wait_for(finished, 10)).response()
    assert answer is not None and answer.status == 204  # the grant is done
    return str(await landing.evaluate(SAVED_FILE_SHA256, name))


async def test_a_64_mib_file_goes_browser_to_browser_to_disk_and_by_blob_byte_for_byte(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    source = random_file(tmp_path, "ci-dump.sql", 64 * MiB)
    text = secret_text()
    share, _ = await send_on_the_page(new_context, site, text, source, views=2)

    # Where the browser can write to disk: asked where, then written as it arrives.
    landing = await open_to_save_to_disk(new_context, share)
    # What it weighs sealed (padded to 66 MiB, and a tag per segment), before the view.
    assert "about 66.0 MB to download" in str(await landing.text_content("#secret-info"))
    await reveal(landing)
    assert await landing.input_value("#secret-text") == text  # the text, before any file
    assert await save_on_the_page(landing, "ci-dump.sql") == sha256(source)

    # Without disk access (Firefox, Safari): a Blob per file, then a download link.
    other, _ = await new_context(accept_downloads=True)
    await other.add_init_script(NO_DISK_ACCESS)
    landing = await open_landing(other, str(share))
    await reveal(landing)
    link = landing.locator("#file-list a")
    await link.wait_for(timeout=180_000)
    async with landing.expect_download() as pending:
        await link.click()
    download = await pending.value
    saved = tmp_path / "by-blob.sql"
    await download.save_as(saved)
    assert download.suggested_filename == "ci-dump.sql"
    assert sha256(saved) == sha256(source)


async def test_a_64_mib_file_goes_from_the_page_to_the_cli_byte_for_byte(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    source = random_file(tmp_path, "ci-dump.sql", 64 * MiB)
    text = secret_text()
    share, uploaded = await send_on_the_page(new_context, site, text, source)
    assert_many_segments(uploaded, 64 * MiB)

    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"
    assert [path.name for path in out.iterdir()] == ["ci-dump.sql"]
    assert sha256(out / "ci-dump.sql") == sha256(source)


async def test_a_64_mib_file_goes_from_the_cli_to_the_page_byte_for_byte(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    source = random_file(tmp_path, "disk.img", 64 * MiB)
    text = secret_text()
    sent = await cli("send", "--server", site, "--file", str(source), stdin=text.encode())
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)

    landing = await open_to_save_to_disk(new_context, share)
    downloaded = segments_requested(landing, "GET")
    # Sealed by the CLI as the page seals it: the same padding, the same weight.
    assert "about 66.0 MB to download" in str(await landing.text_content("#secret-info"))
    await reveal(landing)
    assert await landing.input_value("#secret-text") == text
    assert await save_on_the_page(landing, "disk.img") == sha256(source)
    assert_many_segments(downloaded, 64 * MiB)


async def test_a_dropped_connection_resumes_the_upload_and_the_download(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    source = random_file(tmp_path, "backup.tar", 2 * MiB + 1234)
    sender, _ = await new_context()
    page = await sender.new_page()
    cut: list[int] = []
    await page.route(SEGMENT_PATH, cut_once(4, "PUT", cut))
    await fill_create_page(page, site, "", [source])
    await page.evaluate("""() => {
      window.notes = [];
      const note = document.getElementById("upload-note");
      new MutationObserver(() => window.notes.push(note.textContent))
        .observe(note, { childList: true });
    }""")
    await page.click("#create-button")
    share = await share_link(page)
    assert cut == [4]
    assert any("The connection dropped" in note for note in await page.evaluate("window.notes"))

    recipient, _ = await new_context(accept_downloads=True)
    landing = await open_landing(recipient, str(share))
    cut.clear()
    await landing.route(SEGMENT_PATH, cut_once(3, "GET", cut))
    await reveal(landing)
    async with landing.expect_download() as pending:
        await landing.click("#file-list a")
    await (await pending.value).save_as(tmp_path / "got.tar")
    assert cut == [3]
    assert (tmp_path / "got.tar").read_bytes() == source.read_bytes()


async def test_cancel_stops_the_upload_and_leaves_the_form_as_it_was(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    source = random_file(tmp_path, "held.bin", MiB)
    sender, _ = await new_context()
    page = await sender.new_page()
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        """Segment 2 hangs until the test lets it go: an upload in flight to cancel."""
        found = SEGMENT_PATH.search(route.request.url)
        if found and int(found[1]) == 2:
            await release.wait()
        with contextlib.suppress(PlaywrightError):  # the page cancelled it meanwhile
            await route.continue_()

    await page.route(SEGMENT_PATH, hold)
    text = secret_text()
    await fill_create_page(page, site, text, [source])
    await page.click("#create-button")
    await page.get_by_role("progressbar", name=re.compile("held.bin")).wait_for()
    await page.get_by_role("button", name="Cancel").click()
    error = page.locator("#create-error")
    await error.wait_for()
    assert "Cancelled" in str(await error.text_content())
    release.set()
    assert await page.is_hidden("#upload")
    assert await page.is_enabled("#create-button")
    assert await page.evaluate("document.activeElement.id") == "create-button"
    assert await page.input_value("#secret-text") == text
    assert "held.bin" in str(await page.text_content("#file-list"))

    await page.unroute(SEGMENT_PATH)
    await page.click("#create-button")  # the same form, again: it works
    await share_link(page)


async def test_a_file_over_the_limit_is_named_on_attach_with_the_limit(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    """Under the default MAX_CONTENT_BYTES (100 MiB): the page says 100.0 MB, names a
    file that goes over as soon as it is attached, and will not create."""
    sparse = tmp_path / "disk-image.iso"
    with sparse.open("wb") as out:
        out.truncate(100 * MiB + 1)  # no bytes on disk: only its size matters here
    context, _ = await new_context()
    page = await context.new_page()
    await fill_create_page(page, site, "", [sparse])
    assert await page.text_content("#max-size") == "100.0 MB"
    warning = page.locator("#size-warning")
    await warning.wait_for()
    said = str(await warning.text_content())
    assert "disk-image.iso" in said and "up to 100.0 MB in all" in said
    assert await page.is_disabled("#create-button")


async def test_a_password_is_one_request(site: str, new_context: NewContext) -> None:
    context, _ = await new_context()
    page = await context.new_page()
    sent: list[Request] = []

    def note(request: Request) -> None:
        if "/api/v1/contents" in request.url:
            sent.append(request)

    page.on("request", note)
    await fill_create_page(page, site, secret_text(), [])
    await page.click("#create-button")
    await share_link(page)
    assert [(r.method, r.url.rsplit("/api/v1", 1)[1]) for r in sent] == [("POST", "/contents")]
    assert await page.locator("#upload").is_hidden()
