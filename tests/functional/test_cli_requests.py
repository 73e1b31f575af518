"""``burnafter request``, ``answer``, and ``open`` and ``status`` of a collect link
(issue 17): the CLI asks, answers and collects against a running api on real
PostgreSQL; the answer comes back byte for byte, only through the collect link."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from services.cli.client_commands import ExitCode
from services.client.links import Link, parse_link
from services.protocol import request
from services.protocol.envelope import KEY_BYTES, b64u_encode
from tests.support.asking import sealed_answer
from tests.support.cli import cli, cli_in_terminal
from tests.support.fixtures_types import ClientWith
from tests.support.leaks import LEAK_WATCH

SEGMENT = 4096  # small, so that a file of a few tens of KB crosses several segments


@dataclass(frozen=True)
class Asked:
    id: str
    fill: Link
    collect: Link
    expires_at: str
    fill_file: Path  # each link in a file only its owner may read, for --link-file
    collect_file: Path


def _watch(fill: Link, collect: Link, passphrase: str | None) -> None:
    """The keys the links hold, and every proof derived from them."""
    fill_key, public_key = fill.key[:KEY_BYTES], fill.key[KEY_BYTES:]
    keys = request.collect_keys(collect.key, passphrase)
    for what, value in [
        ("fill key", fill_key),
        ("public key", public_key),
        ("private key", collect.key),
        ("fill claim", request.fill_keys(fill_key).claim),
        ("note key", request.fill_keys(fill_key).note),
        ("collect claim", keys.claim),
        ("manage", keys.manage),
        *([("unlock", keys.unlock)] if keys.unlock else []),
    ]:
        LEAK_WATCH.add(what, value)


def _private_file(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


async def ask(
    url: str, folder: Path, *flags: str, note: str | None = None, passphrase: str | None = None
) -> Asked:
    """``burnafter request --json`` with ``flags``: a note of its own unless given."""
    note = f"Please send the staging key {secrets.token_hex(6)}" if note is None else note
    LEAK_WATCH.add("note", note)
    extra: tuple[str, ...] = ()
    if passphrase is not None:
        LEAK_WATCH.add("passphrase", passphrase)
        extra = ("--passphrase-file", str(_private_file(folder / "asked-pass", passphrase)))
    note_file = _private_file(folder / "note.txt", note)
    made = await cli(
        "request", "--server", url, "--note-file", str(note_file), *extra, *flags, "--json"
    )
    assert made.returncode == 0, made.stderr
    assert made.stderr == b""
    shown = json.loads(made.stdout)
    assert set(shown) == {"id", "fill_link", "collect_link", "expires_at"}
    fill, collect = parse_link(shown["fill_link"], "q"), parse_link(shown["collect_link"], "c")
    _watch(fill, collect, passphrase)
    assert fill.id == collect.id == shown["id"] and fill.base == collect.base == url
    return Asked(
        shown["id"],
        fill,
        collect,
        shown["expires_at"],
        _private_file(folder / f"fill-{shown['id']}", str(fill)),
        _private_file(folder / f"collect-{shown['id']}", str(collect)),
    )


async def site(api_with: ClientWith, **env: str) -> str:
    api = await api_with(SEGMENT_SIZE=str(SEGMENT), **env)
    return str(api.make_url("")).rstrip("/")


def _answer_text() -> str:
    text = f"the staging key is {secrets.token_hex(10)}"
    LEAK_WATCH.add("answer", text)
    return text


def _random_file(folder: Path, name: str, size: int) -> Path:
    data = os.urandom(size)
    LEAK_WATCH.add("file", data[:64])
    path = folder / name
    path.write_bytes(data)
    return path


async def answer(asked: Asked, *flags: str, stdin: bytes = b"") -> Any:
    return await cli("answer", "--link-file", str(asked.fill_file), *flags, stdin=stdin)


async def test_asked_answered_and_collected_by_the_cli_byte_for_byte(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path, "--files", note="The deploy key and its passphrase, please")
    text, key_file = _answer_text(), _random_file(tmp_path, "id_ed25519", 30_000)

    answered = await answer(asked, "--file", str(key_file), stdin=text.encode() + b"\n")
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout == b""
    assert b"The deploy key and its passphrase, please" in answered.stderr  # the note shown
    assert answered.stderr.endswith(b"Sent: only the person who asked can open it.\n")
    count = await db.fetchval("SELECT segment_count FROM contents WHERE id = $1", asked.id)
    assert count > 5  # 30 KB in 4 KiB segments: uploaded after the answer, then finalized
    assert await db.fetchval("SELECT state FROM requests WHERE id = $1", asked.id) == "answered"

    out = tmp_path / "out"
    out.mkdir()
    opened = await cli(
        "open", "--link-file", str(asked.collect_file), "--output-dir", str(out), "--json"
    )
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout) == {
        "text": text,  # its final newline taken off, as send does
        "files": [{"name": "id_ed25519", "path": str(out / "id_ed25519"), "bytes": 30_000}],
        "views_left": 0,
        "recipient_may_delete": False,
    }
    assert (out / "id_ed25519").read_bytes() == key_file.read_bytes()
    again = await cli("open", "--link-file", str(asked.collect_file), "--output-dir", str(out))
    assert again.returncode == ExitCode.GONE, again.stderr
    assert b"the answer is gone: it was opened already" in again.stderr


async def test_a_text_answer_prints_as_open_prints_a_secret(
    api_with: ClientWith, tmp_path: Path
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path, "--views", "2")
    text = _answer_text()
    answered = await answer(asked, "--json", stdin=text.encode())
    assert answered.returncode == 0, answered.stderr
    shown = json.loads(answered.stdout)
    assert shown == {"answered": True, "id": asked.id, "expires_at": shown["expires_at"]}
    opened = await cli("open", stdin=f"{asked.collect}\n".encode())
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"
    assert b"1 view left" in opened.stderr  # --views 2


async def test_a_request_takes_one_answer(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path)
    first, second = _answer_text(), _answer_text()
    assert (await answer(asked, stdin=first.encode())).returncode == 0
    twice = await answer(asked, stdin=second.encode())
    assert twice.returncode == 8  # ExitCode.ANSWERED, as documented
    assert twice.stderr == (
        b"burnafter: this request was answered already: it takes one answer, and only the "
        b"person who asked can open it\n"
    )
    as_json = await answer(asked, "--json", stdin=second.encode())
    assert json.loads(as_json.stderr) == {
        "error": twice.stderr.decode().removeprefix("burnafter: ").strip(),
        "code": 8,
    }
    assert await db.fetchval("SELECT count(*) FROM contents") == 1
    opened = await cli("open", "--link-file", str(asked.collect_file))
    assert opened.stdout == first.encode() + b"\n"


async def test_a_fill_link_never_opens_the_answer_and_each_link_names_its_command(
    api_with: ClientWith, tmp_path: Path
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path)
    text = _answer_text()
    assert (await answer(asked, stdin=text.encode())).returncode == 0

    for command in ("open", "status"):
        by_fill = await cli(command, "--link-file", str(asked.fill_file))
        assert by_fill.returncode == ExitCode.MALFORMED_LINK, by_fill.stderr
        assert by_fill.stderr.startswith(b"burnafter: that is a fill link, not a ")
        assert b"`burnafter answer`" in by_fill.stderr
        assert text.encode() not in by_fill.stdout + by_fill.stderr
        assert b64u_encode(asked.fill.key).encode() not in by_fill.stderr
    by_collect = await cli("answer", "--link-file", str(asked.collect_file), stdin=b"x")
    assert by_collect.returncode == ExitCode.MALFORMED_LINK, by_collect.stderr
    assert by_collect.stderr.startswith(b"burnafter: that is a collect link, not a fill link: ")
    assert b"`burnafter open`" in by_collect.stderr
    for command in ("delete", "revoke"):  # neither takes a collect link
        wrong = await cli(command, "--link-file", str(asked.collect_file))
        assert wrong.returncode == ExitCode.MALFORMED_LINK, wrong.stderr
        assert b"that is a collect link" in wrong.stderr

    # The answer is still there, for the collect link only.
    opened = await cli("open", "--link-file", str(asked.collect_file))
    assert opened.stdout == text.encode() + b"\n"


async def test_files_not_asked_for_are_refused_before_anything_is_sent(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path)  # no --files
    attached = _random_file(tmp_path, "notes.pdf", 2000)
    refused = await answer(asked, "--file", str(attached), stdin=_answer_text().encode())
    assert refused.returncode == ExitCode.NOT_ALLOWED, refused.stderr
    assert refused.stderr.endswith(
        b"burnafter: this request takes no files: answer with text only. Nothing was sent\n"
    )
    assert b"(text only, no files;" in refused.stderr
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    assert await db.fetchval("SELECT state FROM requests") == "open"


async def test_an_answer_over_the_requests_size_is_refused_before_upload(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path, "--files", "--max-size", "10KB")
    big = _random_file(tmp_path, "dump.sql", 20_000)
    refused = await answer(asked, "--file", str(big), stdin=b"")
    assert refused.returncode == ExitCode.ERROR, refused.stderr
    assert refused.stderr.endswith(
        b"burnafter: too large to send with the rest: dump.sql (20 KB); this request takes "
        b"at most 10 KB in all (text and files)\n"
    )
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    assert await db.fetchval("SELECT max_content_bytes FROM requests") == 10 * 1024
    too_big = await cli("request", "--server", url, "--files", "--max-size", "1GB")
    assert too_big.returncode == ExitCode.USAGE, too_big.stderr
    assert b"--max-size: this server takes at most" in too_big.stderr
    assert await db.fetchval("SELECT count(*) FROM requests") == 1


async def test_a_note_the_server_cannot_take_is_refused_before_asking(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    long_note = _private_file(tmp_path / "long.txt", "é" * 1001)  # 2002 bytes of UTF-8
    refused = await cli("request", "--server", url, "--note-file", str(long_note))
    assert refused.returncode == ExitCode.USAGE
    assert refused.stderr == (
        f"burnafter: --note-file {long_note}: the note is 2002 bytes; a note is at most 2000 "
        "bytes of UTF-8 text. Nothing was asked\n".encode()
    )
    no_files = await cli("request", "--server", url, "--max-size", "1MB")
    assert no_files.returncode == ExitCode.USAGE
    assert b"--max-size caps the files of the answer: give --files too" in no_files.stderr
    assert await db.fetchval("SELECT count(*) FROM requests") == 0
    fits = await cli("request", "--server", url, "--note", "é" * 1000)  # 2000 bytes
    assert fits.returncode == 0, fits.stderr
    assert await db.fetchval("SELECT files_allowed FROM requests") is False


async def test_a_wrong_passphrase_on_collect_spends_an_attempt_and_the_right_one_opens(
    api_with: ClientWith, tmp_path: Path
) -> None:
    url = await site(api_with)
    passphrase = f"correct horse {secrets.token_hex(4)}"
    asked = await ask(url, tmp_path, passphrase=passphrase)
    text = _answer_text()
    assert (await answer(asked, stdin=text.encode())).returncode == 0

    without = await cli("open", "--link-file", str(asked.collect_file))
    assert without.returncode == ExitCode.PASSPHRASE
    assert b"needs a passphrase" in without.stderr
    wrong = _private_file(tmp_path / "wrong", "not the passphrase at all")
    refused = await cli(
        "open", "--link-file", str(asked.collect_file), "--passphrase-file", str(wrong)
    )
    assert refused.returncode == ExitCode.PASSPHRASE
    assert refused.stderr.startswith(b"burnafter: wrong passphrase; ")
    assert b"attempts left" in refused.stderr
    right = _private_file(tmp_path / "right", passphrase)
    opened = await cli(
        "open", "--link-file", str(asked.collect_file), "--passphrase-file", str(right)
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"


async def test_open_before_the_answer_says_not_yet_and_after_the_time_says_expired(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path)
    early = await cli("open", "--link-file", str(asked.collect_file))
    assert early.returncode == 9  # ExitCode.NOT_ANSWERED, as documented
    assert early.stderr.startswith(b"burnafter: not answered yet: the request is still open")
    await db.execute("UPDATE requests SET expires_at = now() - interval '1 s'")
    late = await cli("open", "--link-file", str(asked.collect_file))
    assert late.returncode == ExitCode.GONE
    assert (
        late.stderr == b"burnafter: the request expired unanswered: there is nothing to collect\n"
    )
    too_late = await answer(asked, stdin=_answer_text().encode())
    assert too_late.returncode == ExitCode.GONE
    assert too_late.stderr == (
        b"burnafter: this request expired unanswered: ask the person who asked for a new "
        b"fill link\n"
    )


async def test_a_fill_link_of_no_request_is_gone(api_with: ClientWith, tmp_path: Path) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path)
    stranger = Link(url, "A" * 22, asked.fill.key, "q")
    unknown = await cli("answer", str(stranger), stdin=b"x" * 20)
    assert unknown.returncode == ExitCode.GONE
    assert unknown.stderr == (
        b"burnafter: no request matches this link: it is wrong, or the request ended long ago\n"
    )


async def test_status_of_a_collect_link_follows_the_request_and_its_answer(
    api_with: ClientWith, tmp_path: Path
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path, "--files", "--max-size", "1MB")
    status = ("status", "--link-file", str(asked.collect_file))

    before = await cli(*status)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.decode().splitlines()
    assert lines[0] == "request:   open: not answered yet"
    assert "files:     allowed, up to 1.0 MB in all" in lines
    assert "opened:    not yet" in lines and "answered:  not yet" in lines
    assert "answer:" not in lines
    as_json = json.loads((await cli(*status, "--json")).stdout)
    assert as_json["answer"] is None
    assert as_json["request"]["state"] == "open" and as_json["request"]["opened_at"] is None

    text = _answer_text()
    assert (await answer(asked, stdin=text.encode())).returncode == 0
    after = json.loads((await cli(*status, "--json")).stdout)
    assert set(after) == {"request", "answer"}
    assert after["request"]["state"] == "answered"
    assert after["request"]["opened_at"] and after["request"]["answered_at"]
    assert after["answer"]["state"] == "active" and after["answer"]["views"] == 0

    assert (await cli("open", "--link-file", str(asked.collect_file))).returncode == 0
    words = (await cli(*status)).stdout.decode()
    assert "request:   answered\n" in words
    assert "(the responder read the request)" in words
    assert "\nanswer:\n  state:     viewed\n" in words
    assert "  events:\n" in words and "viewed" in words.partition("  events:\n")[2]
    assert text not in words


async def test_on_a_terminal_answer_asks_for_the_link_then_shows_the_note_then_asks(
    api_with: ClientWith, tmp_path: Path
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path, note="Which port does staging listen on?")
    text = _answer_text()
    code, screen = await cli_in_terminal(
        "answer",
        answers=[
            (b"fill link (not shown): ", f"{asked.fill}\r".encode()),
            (b"answer (not shown): ", f"{text}\r".encode()),
        ],
    )
    assert code == 0, screen
    assert b"Which port does staging listen on?" in screen
    assert screen.index(b"Which port") < screen.index(b"answer (not shown)")
    assert text.encode() not in screen and str(asked.fill).encode() not in screen
    assert b"Sent: only the person who asked can open it." in screen
    opened = await cli("open", "--link-file", str(asked.collect_file))
    assert opened.stdout == text.encode() + b"\n"


async def test_the_link_and_the_answer_do_not_both_come_from_standard_input(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    url = await site(api_with)
    asked = await ask(url, tmp_path)
    both = await cli("answer", stdin=f"{asked.fill}\n{_answer_text()}".encode())
    assert both.returncode == ExitCode.USAGE
    assert b"cannot both come from standard input" in both.stderr
    assert await db.fetchval("SELECT opened_at FROM requests") is None  # not even opened


async def test_request_sends_the_api_token_as_send_does(
    api_with: ClientWith, database_url: str, tmp_path: Path, db: asyncpg.Connection
) -> None:
    made = await cli(
        "token", "create", "--name", "asker", "--owner", "ops@example.com",
        env={"DATABASE_URL": database_url},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    LEAK_WATCH.add("api token", token)
    url = await site(api_with, REQUEST_POLICY="sso-or-token")
    without = await cli("request", "--server", url)
    assert without.returncode == ExitCode.ERROR, without.stderr
    assert await db.fetchval("SELECT count(*) FROM requests") == 0
    token_file = _private_file(tmp_path / "token", token)
    with_token = await cli(
        "request", "--server", url, "--json", env={"BURNAFTER_TOKEN_FILE": str(token_file)}
    )
    assert with_token.returncode == 0, with_token.stderr
    shown = json.loads(with_token.stdout)
    _watch(parse_link(shown["fill_link"], "q"), parse_link(shown["collect_link"], "c"), None)
    assert await db.fetchval("SELECT creator FROM requests") == "token:asker"


async def test_open_while_the_answer_is_still_uploading_says_so(
    api_with: ClientWith, tmp_path: Path
) -> None:
    api = await api_with(SEGMENT_SIZE=str(SEGMENT))
    url = str(api.make_url("")).rstrip("/")
    asked = await ask(url, tmp_path, "--files")
    # A responder's client that sent the answer and its first segment, and not yet
    # the others.
    fill_key, public_key = asked.fill.key[:KEY_BYTES], asked.fill.key[KEY_BYTES:]
    body, segments = sealed_answer(public_key, _answer_text(), os.urandom(3 * SEGMENT))
    claim = {"claim": b64u_encode(request.fill_keys(fill_key).claim)}
    started = await api.post(f"/api/v1/requests/{asked.id}/answer", json={**body, **claim})
    assert started.status == 201 and len(segments) > 1
    early = await cli("open", "--link-file", str(asked.collect_file))
    assert early.returncode == ExitCode.NOT_ANSWERED
    assert b"the answer is still being uploaded" in early.stderr
