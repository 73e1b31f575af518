"""The browser and the CLI speak the same protocol, both ways, with and without a
passphrase."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.browser import FileToShare, create_secret, download_all, open_landing, reveal
from tests.support.cli import cli, watch_cli_links
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_passphrase, secret_text


@pytest.mark.parametrize("with_passphrase", [False, True], ids=["plain", "passphrase"])
async def test_made_in_the_browser_opens_with_the_cli(
    site: str, new_context: NewContext, tmp_path: Path, with_passphrase: bool
) -> None:
    text = secret_text()
    passphrase = secret_passphrase() if with_passphrase else None
    blob = os.urandom(2048)
    LEAK_WATCH.add("file", blob[:64])
    sender, _ = await new_context()
    share, receipt = await create_secret(
        sender, site, text, files=(FileToShare("notes.bin", blob),), passphrase=passphrase
    )
    args = ["open", str(share), "--output-dir", str(tmp_path)]
    if passphrase:
        (tmp_path / "pass").write_text(passphrase)
        args += ["--passphrase-file", str(tmp_path / "pass")]
    opened = await cli(*args)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"  # open ends the text with one newline
    assert (tmp_path / "notes.bin").read_bytes() == blob
    status = await cli("status", str(receipt))
    assert b"state:     viewed" in status.stdout


@pytest.mark.parametrize("with_passphrase", [False, True], ids=["plain", "passphrase"])
async def test_made_with_the_cli_opens_in_the_browser(
    site: str, new_context: NewContext, tmp_path: Path, with_passphrase: bool
) -> None:
    text = secret_text()
    passphrase = secret_passphrase() if with_passphrase else None
    blob = bytes(range(256)) * 4
    attachment = tmp_path / "id_rsa"
    attachment.write_bytes(blob)
    args = ["send", "--server", site, "--file", str(attachment)]
    if passphrase:
        (tmp_path / "pass").write_text(passphrase + "\n")
        args += ["--passphrase-file", str(tmp_path / "pass")]
    sent = await cli(*args, stdin=text.encode())
    assert sent.returncode == 0, sent.stderr
    share, receipt = watch_cli_links(sent.stdout, sent.stderr, passphrase)

    recipient, _ = await new_context(accept_downloads=True)
    page = await open_landing(recipient, str(share))
    assert await page.is_visible("#passphrase") == with_passphrase
    await reveal(page, passphrase)
    assert await page.input_value("#secret-text") == text
    assert await download_all(page, tmp_path / "downloads") == {"id_rsa": blob}

    receipt_page = await recipient.new_page()
    await receipt_page.goto(str(receipt))
    await receipt_page.wait_for_selector("#receipt:not([hidden])")
    assert "Viewed" in await receipt_page.inner_text("#state")


async def test_one_final_newline_is_not_part_of_the_secret_in_the_browser_or_the_cli(
    site: str, new_context: NewContext
) -> None:
    """The same rule on both sides (README, "Command line"): a secret typed or pasted
    with one final newline is stored without it; others are kept."""
    sender, _ = await new_context()
    typed = secret_text()
    share, _ = await create_secret(sender, site, typed + "\n")
    opened = await cli("open", str(share), "--json")
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["text"] == typed

    kept = f"{secret_text()}\n\n"  # a blank last line is meant: only the final newline goes
    share, _ = await create_secret(sender, site, kept)
    recipient, _ = await new_context()
    page = await open_landing(recipient, str(share))
    await reveal(page)
    assert await page.input_value("#secret-text") == kept[:-1]
