"""The ``burnafter`` command against a running api, as a user types it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from services.cli.client_commands import ExitCode
from services.client.links import make_link
from tests.support.cli import cli, watch_cli_links
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_text


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    passphrase = f"pass-{os.urandom(6).hex()}"
    LEAK_WATCH.add("passphrase", passphrase)
    path = tmp_path / "passphrase"
    path.write_text(passphrase + "\n")
    return path


async def test_send_then_open_gives_the_same_text_and_file_bytes(
    base_url: str, tmp_path: Path
) -> None:
    text = secret_text()
    blob = os.urandom(5000) + bytes(range(256))
    LEAK_WATCH.add("file", blob[:64])
    attachment = tmp_path / "id_ed25519.bin"
    attachment.write_bytes(blob)
    sent = await cli("send", "--server", base_url, "--file", str(attachment), stdin=text.encode())
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode()
    assert (out / "id_ed25519.bin").read_bytes() == blob
    again = await cli("open", str(share), "--output-dir", str(out))
    assert again.returncode == ExitCode.GONE
    assert b"gone" in again.stderr
    assert again.stdout == b""


async def test_json_output_views_expiry_and_label(base_url: str) -> None:
    text = secret_text()
    label = f"label-{os.urandom(4).hex()}"
    LEAK_WATCH.add("label", label)
    sent = await cli(
        "send", "--server", base_url, "--json", "--views", "2", "--expires", "30m",
        "--label", label, stdin=text.encode(),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    result = json.loads(sent.stdout)
    assert result["max_views"] == 2
    watch_cli_links(result["link"].encode(), result["receipt"].encode())
    for _ in range(2):
        assert (await cli("open", result["link"])).stdout == text.encode()
    status = await cli("status", result["receipt"], "--json")
    receipt = json.loads(status.stdout)
    assert receipt["state"] == "viewed"
    assert receipt["label"] == label
    assert [e["event"] for e in receipt["events"]] == ["created", "viewed", "viewed"]


async def test_status_and_revoke_through_the_receipt_link(base_url: str) -> None:
    sent = await cli("send", "--server", base_url, stdin=secret_text().encode())
    share, receipt = watch_cli_links(sent.stdout, sent.stderr)
    status = await cli("status", str(receipt))
    assert status.returncode == 0
    assert b"state:     active" in status.stdout
    assert b"created" in status.stdout
    revoked = await cli("revoke", str(receipt))
    assert revoked.returncode == 0, revoked.stderr
    assert (await cli("open", str(share))).returncode == ExitCode.GONE
    status = await cli("status", str(receipt))
    assert b"state:     revoked" in status.stdout
    assert b"revoked" in status.stdout.splitlines()[-1]
    again = await cli("revoke", str(receipt))
    assert again.returncode == ExitCode.GONE
    assert b"already revoked" in again.stderr


async def test_passphrase_wrong_then_right(
    base_url: str, passphrase_file: Path, tmp_path: Path
) -> None:
    text = secret_text()
    sent = await cli(
        "send", "--server", base_url, "--passphrase-file", str(passphrase_file), stdin=text.encode()
    )
    share, _ = watch_cli_links(sent.stdout, sent.stderr, passphrase_file.read_text().strip())
    missing = await cli("open", str(share))
    assert missing.returncode == ExitCode.PASSPHRASE
    assert b"needs a passphrase" in missing.stderr
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("not it")
    wrong = await cli("open", str(share), "--passphrase-file", str(wrong_file))
    assert wrong.returncode == ExitCode.PASSPHRASE
    assert b"4 attempt(s) left" in wrong.stderr
    right = await cli("open", str(share), "--passphrase-file", str(passphrase_file))
    assert right.returncode == 0, right.stderr
    assert right.stdout == text.encode()


async def test_last_wrong_passphrase_says_the_secret_is_destroyed(
    base_url: str, passphrase_file: Path, tmp_path: Path
) -> None:
    sent = await cli(
        "send", "--server", base_url, "--passphrase-file", str(passphrase_file),
        stdin=secret_text().encode(),
    )  # fmt: skip
    share, _ = watch_cli_links(sent.stdout, sent.stderr, passphrase_file.read_text().strip())
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("nope")
    for _ in range(4):
        await cli("open", str(share), "--passphrase-file", str(wrong_file))
    last = await cli("open", str(share), "--passphrase-file", str(wrong_file))
    assert last.returncode == ExitCode.PASSPHRASE
    assert b"destroyed" in last.stderr
    right = await cli("open", str(share), "--passphrase-file", str(passphrase_file))
    assert right.returncode == ExitCode.GONE


@pytest.mark.parametrize(
    "link",
    [
        "not a link",
        "ftp://host/s/AAAAAAAAAAAAAAAAAAAAAA#" + "A" * 43,
        "http://127.0.0.1:1/s/AAAAAAAAAAAAAAAAAAAAAA",
        "http://127.0.0.1:1/s/AAAAAAAAAAAAAAAAAAAAAA#short",
        "http://127.0.0.1:1/s/too-short#" + "A" * 43,
        "http://127.0.0.1:1/r/AAAAAAAAAAAAAAAAAAAAAA#" + "A" * 43,
    ],
)
async def test_malformed_links_get_a_clear_message_and_exit_code(link: str) -> None:
    result = await cli("open", link)
    assert result.returncode == ExitCode.MALFORMED_LINK
    assert result.stderr.startswith(b"burnafter: ")
    assert len(result.stderr.splitlines()) == 1


async def test_unreachable_server_is_a_clear_one_line_error() -> None:
    link = make_link("http://127.0.0.1:9", "s", "A" * 22, bytes(32))
    result = await cli("open", str(link))
    assert result.returncode == ExitCode.UNREACHABLE
    assert b"cannot reach the server" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    sent = await cli("send", "--server", "http://127.0.0.1:9", stdin=b"x")
    assert sent.returncode == ExitCode.UNREACHABLE


async def test_plain_http_to_a_remote_host_is_refused_without_insecure() -> None:
    result = await cli("send", "--server", "http://192.0.2.1", stdin=b"x")
    assert result.returncode == ExitCode.USAGE
    assert b"--insecure" in result.stderr


async def test_nothing_to_send_is_an_error(base_url: str) -> None:
    result = await cli("send", "--server", base_url, stdin=b"")
    assert result.returncode == ExitCode.ERROR
    assert b"nothing to send" in result.stderr


async def test_files_are_written_inside_the_output_dir_and_never_overwrite(
    base_url: str, tmp_path: Path
) -> None:
    from services.client.api_client import Api, send
    from services.protocol.envelope import Payload, SecretFile

    files = (SecretFile("../../escape.txt", "text/plain", b"one"), SecretFile("a.txt", "", b"two"))
    async with Api(base_url) as api:
        sent = await send(api, Payload("", files))
    LEAK_WATCH.add_share_link(sent.link)
    LEAK_WATCH.add_receipt_link(sent.receipt_link)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_bytes(b"already here")
    opened = await cli("open", str(sent.link), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a (1).txt", "a.txt", "escape.txt"]
    assert (out / "a.txt").read_bytes() == b"already here"
    assert (out / "a (1).txt").read_bytes() == b"two"
    assert not (tmp_path.parent / "escape.txt").exists()


async def test_the_client_library_peeks_without_spending_and_reads_the_limits(
    base_url: str,
) -> None:
    from services.client.api_client import Api, open_link, send
    from services.protocol.envelope import Payload, derive_secret_keys

    async with Api(base_url) as api:
        assert (await api.limits())["max_views"] == 100
        sent = await send(api, Payload(secret_text()), max_views=2)
        LEAK_WATCH.add_share_link(sent.link)
        LEAK_WATCH.add_receipt_link(sent.receipt_link)
        claim = derive_secret_keys(sent.link.key).claim
        for _ in range(3):
            peeked = await api.peek(sent.link.id, claim)
            assert peeked["views_left"] == 2 and peeked["passphrase_required"] is False
        assert (await open_link(api, sent.link)).views_left == 1
