"""Requests across the browser and the CLI (issue 17), as people use them: a signed-in
employee asks on the page to be emailed, a vendor answers with the CLI, the
employee watches the collect page turn and opens the answer; then the CLI asks, a
browser answers with a file, and the CLI collects. Bytes come back identical.

Every request of both flows goes through a reverse proxy that keeps a request log,
as an edge in front of burnafter would: that log holds no plaintext, note or key.
The database after the flows holds no note in clear and nothing that opens the
answer. The email the asker gets, at the address she signed in with, comes through a
real SMTP relay and says only that the request was answered."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import FilePayload

from services.client.links import Link, parse_link
from services.protocol import request
from services.protocol.envelope import KEY_BYTES
from services.server.settings import Settings
from tests.support.browser import (
    ask_in_browser,
    download_all,
    open_collect,
    open_fill,
    reveal_answer,
)
from tests.support.cli import cli
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH, database_text, find_leaks
from tests.support.proxy import RecordingProxy
from tests.support.services import make_settings
from tests.support.smtp import Relay
from tests.support.waiting import eventually

SEGMENT = 16 * 1024
EMPLOYEE = "dana@example.test"  # signed in through the proxy, and emailed there


@pytest.fixture
def relay() -> Iterator[Relay]:
    smtp = Relay()
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.fixture
def settings(database_url: str, test_log: Path, relay: Relay) -> Settings:
    """``make run``'s app: small segments, the proxy on loopback trusted to say who is
    signed in, an SMTP relay, and notices checked often."""
    return make_settings(
        database_url,
        SEGMENT_SIZE=str(SEGMENT),
        TRUSTED_PROXIES="127.0.0.1/32",
        WEBHOOK_INTERVAL="0.05",
        **relay.settings(),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def edge(site: str) -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy(site)
    await proxy.start()
    yield proxy
    await proxy.close()


def link_keys(fill: Link, collect: Link) -> dict[str, bytes]:
    """What the two links hold, and the note's key: none may leave the clients."""
    fill_key = fill.key[:KEY_BYTES]
    return {
        "fill key": fill_key,
        "public key": fill.key[KEY_BYTES:],
        "private key": collect.key,
        "note key": request.fill_keys(fill_key).note,
    }


def private_file(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


async def test_browser_asks_cli_answers_browser_collects_and_cli_asks_browser_answers_cli_collects(
    edge: RecordingProxy,
    new_context: NewContext,
    relay: Relay,
    database_url: str,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    secret_words: dict[str, bytes] = {}

    def secret(name: str, value: bytes | str) -> bytes:
        raw = value.encode() if isinstance(value, str) else value
        secret_words[name] = raw
        LEAK_WATCH.add(name, raw)
        return raw

    # 1. The employee asks in the browser and asks to be emailed.
    note = "Please send the SFTP password for the nightly export, and its key file."
    secret("note", note)
    employee, _ = await new_context(
        accept_downloads=True, extra_http_headers={"X-Forwarded-Email": EMPLOYEE}
    )
    fill, collect, _ = await ask_in_browser(employee, edge.url, note, email=True)
    assert fill.base == collect.base == edge.url
    secret_words |= link_keys(fill, collect)
    watching = await open_collect(employee, str(collect))
    assert await watching.text_content("#stage") == "Waiting"

    # The vendor answers with the CLI: text on standard input and a key file.
    text = f"sftp password {secrets.token_hex(10)}"
    key_file = os.urandom(2 * SEGMENT + 123)
    secret("answer", text)
    secret("answer file", key_file[:64])
    (tmp_path / "id_ed25519").write_bytes(key_file)
    fill_file = private_file(tmp_path / "fill-link", str(fill))
    answered = await cli(
        "answer", "--link-file", str(fill_file), "--file", str(tmp_path / "id_ed25519"),
        stdin=text.encode(),
    )  # fmt: skip
    assert answered.returncode == 0, answered.stderr
    assert note.encode() in answered.stderr  # the vendor saw what is asked

    # The collect page turns by itself, and opens the answer byte for byte.
    await watching.wait_for_selector("#reveal-form:not([hidden])", timeout=20_000)
    assert await watching.text_content("#stage") == "Answered"
    await reveal_answer(watching)
    assert await watching.input_value("#secret-text") == text
    assert await download_all(watching, tmp_path / "saved") == {"id_ed25519": key_file}

    # The email: that it was answered, nothing that opens anything.
    await eventually(lambda: relay.got, what="the email notice reached the relay")
    (envelope,) = relay.got
    assert envelope.rcpt_tos == [EMPLOYEE]
    mail = bytes(envelope.original_content or b"")
    assert b"was answered" in mail
    assert find_leaks(mail, secret_words) == []
    for part in (fill.id.encode(), b"#", b"/c/", b"/q/", edge.url.encode()):
        assert part not in mail, part

    # 2. The CLI asks for a file; a browser answers with one; the CLI collects it.
    cli_note = f"The signed contract PDF, please ({secrets.token_hex(4)})."
    secret("note", cli_note)
    note_file = private_file(tmp_path / "note", cli_note)
    made = await cli(
        "request", "--server", edge.url, "--note-file", str(note_file), "--files", "--json"
    )
    assert made.returncode == 0, made.stderr
    links = json.loads(made.stdout)
    fill_2, collect_2 = parse_link(links["fill_link"], "q"), parse_link(links["collect_link"], "c")
    secret_words |= {f"{name} 2": value for name, value in link_keys(fill_2, collect_2).items()}
    for name, value in link_keys(fill_2, collect_2).items():
        LEAK_WATCH.add(name, value)

    vendor, _ = await new_context()
    page = await open_fill(vendor, str(fill_2))
    assert await page.text_content("#request-note") == cli_note
    answer_text = f"signed, see attached {secrets.token_hex(6)}"
    contract = os.urandom(3 * SEGMENT + 7)
    secret("answer 2", answer_text)
    secret("answer file 2", contract[:64])
    await page.fill("#answer-text", answer_text)
    await page.set_input_files(
        "#secret-files",
        [FilePayload(name="contract.pdf", mimeType="application/pdf", buffer=contract)],
    )
    await page.click("#answer-button")
    await page.wait_for_selector("#sent:not([hidden]), #answer-error:not([hidden])")
    assert await page.is_visible("#sent")

    collect_file = private_file(tmp_path / "collect-link", str(collect_2))
    out = tmp_path / "collected"
    out.mkdir()
    opened = await cli("open", "--link-file", str(collect_file), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == answer_text.encode() + b"\n"
    assert (out / "contract.pdf").read_bytes() == contract

    # The edge's request log of both flows: every request, headers and bodies.
    log = b"\n".join(edge.requests)
    # It is the flows' traffic: both requests' ids, the answers' segments going up.
    assert fill.id.encode() in log and fill_2.id.encode() in log
    assert log.count(b"PUT ") >= 4
    assert find_leaks(log, secret_words) == []
    # The database: the notes sealed, nothing that opens them or the answers.
    _, rows = await database_text(database_url)
    assert fill.id.encode() in rows and fill_2.id.encode() in rows
    assert find_leaks(rows, secret_words) == []
    # The address to email went once the email was sent.
    assert await db.fetchval("SELECT count(*) FROM requests WHERE notify_email IS NOT NULL") == 0
