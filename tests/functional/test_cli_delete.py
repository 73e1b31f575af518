"""``burnafter delete``: the recipient destroys a secret when done, where its sender
allowed it with ``send --recipient-may-delete`` (issue 14); the CLI against a running
api on real PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from services.cli.client_commands import ExitCode
from services.client.links import Link, make_link
from services.protocol.envelope import b64u_encode
from tests.support.cli import cli, cli_in_terminal, watch_cli_links
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_passphrase, secret_text

DELETED = b"deleted: the secret is destroyed, and nobody can open its link any more\n"
NOT_ALLOWED = (
    b"burnafter: the sender did not allow the recipient to delete this secret: it lasts "
    b"until its views are spent or it expires, unless its sender revokes it\n"
)
HINT = b"its sender lets you delete it when you are done: `burnafter delete` with the same link\n"


@pytest.fixture
def passphrase(tmp_path: Path) -> tuple[str, Path]:
    """A passphrase, and a file that holds it."""
    words = secret_passphrase()
    LEAK_WATCH.add("passphrase", words)
    path = tmp_path / "passphrase"
    path.write_text(words + "\n")
    return words, path


def _shows_no_key(output: bytes, link: Link) -> bool:
    return b64u_encode(link.key).encode() not in output and str(link).encode() not in output


async def test_a_recipient_deletes_a_secret_when_done_and_its_link_opens_no_more(
    base_url: str,
) -> None:
    text = secret_text()
    sent = await cli(
        "send", "--server", base_url, "--views", "3", "--recipient-may-delete",
        stdin=text.encode(),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert b", and the recipient may delete it when done\n" in sent.stderr
    share, receipt = watch_cli_links(sent.stdout, sent.stderr)
    first = await cli("open", stdin=f"{share}\n".encode())
    assert first.returncode == 0, first.stderr
    assert first.stdout == text.encode() + b"\n"
    assert first.stderr == b"2 views left: it can be viewed 2 times more\n" + HINT
    deleted = await cli("delete", stdin=f"{share}\n".encode())
    assert deleted.returncode == 0, deleted.stderr
    assert (deleted.stdout, deleted.stderr) == (b"", DELETED)
    again = await cli("open", stdin=f"{share}\n".encode())
    assert again.returncode == ExitCode.GONE, again.stderr
    assert b"this secret is gone: it was viewed, revoked, deleted," in again.stderr
    assert (await cli("delete", str(share))).returncode == ExitCode.GONE
    status = await cli("status", stdin=f"{receipt}\n".encode())
    assert status.returncode == 0, status.stderr
    assert b"state:     deleted by its recipient\n" in status.stdout
    assert b"views:     viewed once\n" in status.stdout
    assert b"recipient: may delete it when done\n" in status.stdout
    assert status.stdout.splitlines()[-1].split()[1] == b"deleted"  # the last event
    revoked = await cli("revoke", stdin=f"{receipt}\n".encode())
    assert revoked.returncode == ExitCode.GONE
    assert revoked.stderr == b"burnafter: the secret was already deleted by its recipient\n"
    for result in (first, deleted, again, status, revoked):
        assert _shows_no_key(result.stderr, share)


async def test_with_json_send_open_and_delete_say_whether_the_recipient_may_delete(
    base_url: str,
) -> None:
    text = secret_text()
    sent = await cli(
        "send", "--server", base_url, "--views", "2", "--recipient-may-delete", "--json",
        stdin=text.encode(),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    result = json.loads(sent.stdout)
    assert result["recipient_may_delete"] is True and result["max_views"] == 2
    share, receipt = watch_cli_links(result["link"].encode(), result["receipt"].encode())
    opened = await cli("open", "--json", stdin=f"{share}\n".encode())
    assert json.loads(opened.stdout) == {
        "text": text,
        "files": [],
        "views_left": 1,
        "recipient_may_delete": True,
    }
    assert opened.stderr == b""
    deleted = await cli("delete", "--json", stdin=f"{share}\n".encode())
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"deleted": True}
    assert deleted.stderr == b""
    status = json.loads((await cli("status", "--json", stdin=f"{receipt}\n".encode())).stdout)
    assert (status["state"], status["recipient_may_delete"]) == ("deleted", True)
    assert [event["event"] for event in status["events"]] == ["created", "viewed", "deleted"]


async def test_without_the_senders_leave_delete_is_refused_and_the_secret_still_opens(
    base_url: str,
) -> None:
    text = secret_text()
    sent = await cli("send", "--server", base_url, "--views", "2", stdin=text.encode())
    assert b"may delete" not in sent.stderr
    share, receipt = watch_cli_links(sent.stdout, sent.stderr)
    refused = await cli("delete", stdin=f"{share}\n".encode())
    assert refused.returncode == ExitCode.NOT_ALLOWED, refused.stderr
    assert (refused.stdout, refused.stderr) == (b"", NOT_ALLOWED)
    as_json = await cli("delete", "--json", stdin=f"{share}\n".encode())
    assert as_json.returncode == ExitCode.NOT_ALLOWED
    assert json.loads(as_json.stderr) == {
        "error": NOT_ALLOWED.decode().removeprefix("burnafter: ").rstrip("\n"),
        "code": 7,
    }
    opened = await cli("open", stdin=f"{share}\n".encode())
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"
    assert opened.stderr == b"1 view left: it can be viewed once more\n"  # no hint
    status = await cli("status", stdin=f"{receipt}\n".encode())
    assert b"state:     active\n" in status.stdout
    assert b"views:     viewed once, 1 view left\n" in status.stdout
    assert b"recipient:" not in status.stdout


async def test_delete_needs_the_passphrase_and_a_wrong_one_spends_an_attempt(
    base_url: str, passphrase: tuple[str, Path], tmp_path: Path
) -> None:
    words, passphrase_file = passphrase
    sent = await cli(
        "send", "--server", base_url, "--views", "2", "--recipient-may-delete",
        "--passphrase-file", str(passphrase_file), stdin=secret_text().encode(),
    )  # fmt: skip
    share, receipt = watch_cli_links(sent.stdout, sent.stderr, words)
    link_file = tmp_path / "link"
    link_file.write_text(f"{share}\n")
    link_file.chmod(0o600)
    missing = await cli("delete", "--link-file", str(link_file))
    assert missing.returncode == ExitCode.PASSPHRASE, missing.stderr
    assert b"needs a passphrase" in missing.stderr
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("not it\n")
    wrong = await cli("delete", "--link-file", str(link_file), "--passphrase-file", str(wrong_file))
    assert wrong.returncode == ExitCode.PASSPHRASE
    assert wrong.stderr == b"burnafter: wrong passphrase; 4 attempts left\n"
    right = await cli(
        "delete", "--link-file", str(link_file), "--passphrase-file", str(passphrase_file)
    )
    assert right.returncode == 0, right.stderr
    assert right.stderr == DELETED
    gone = await cli(
        "open", "--link-file", str(link_file), "--passphrase-file", str(passphrase_file)
    )
    assert gone.returncode == ExitCode.GONE
    status = await cli("status", stdin=f"{receipt}\n".encode())
    assert b"state:     deleted by its recipient\n" in status.stdout
    assert b"views:     not viewed\n" in status.stdout  # deleting spent no view
    assert b"passphrase: required; 1 wrong passphrase\n" in status.stdout


async def test_on_a_terminal_delete_asks_for_the_link_and_the_passphrase_without_echo(
    base_url: str, passphrase: tuple[str, Path]
) -> None:
    words, passphrase_file = passphrase
    sent = await cli(
        "send", "--server", base_url, "--recipient-may-delete",
        "--passphrase-file", str(passphrase_file), stdin=secret_text().encode(),
    )  # fmt: skip
    share, receipt = watch_cli_links(sent.stdout, sent.stderr, words)
    code, screen = await cli_in_terminal(
        "delete",
        answers=[
            (b"share link (not shown): ", f"{share}\r".encode()),
            (b"passphrase (not shown): ", f"{words}\r".encode()),
        ],
    )
    assert code == 0, screen
    assert b"this secret needs a passphrase\r\n" in screen
    assert screen.endswith(DELETED.replace(b"\n", b"\r\n")), screen
    assert words.encode() not in screen and _shows_no_key(screen, share)
    status = await cli("status", stdin=f"{receipt}\n".encode())
    assert b"state:     deleted by its recipient\n" in status.stdout


async def test_a_link_of_the_wrong_kind_points_between_delete_and_revoke(tmp_path: Path) -> None:
    silent = "http://127.0.0.1:9"  # never reached: the link is refused first
    receipt = make_link(silent, "r", "A" * 22, os.urandom(32))
    share = make_link(silent, "s", "A" * 22, os.urandom(32))
    deleted = await cli("delete", stdin=f"{receipt}\n".encode(), cwd=tmp_path)
    assert deleted.returncode == ExitCode.MALFORMED_LINK, deleted.stderr
    assert deleted.stderr.startswith(b"burnafter: that is a receipt link, not a share link: ")
    assert b"destroy it with `burnafter revoke`" in deleted.stderr
    assert _shows_no_key(deleted.stderr, receipt)
    revoked = await cli("revoke", stdin=f"{share}\n".encode(), cwd=tmp_path)
    assert revoked.returncode == ExitCode.MALFORMED_LINK, revoked.stderr
    assert b"delete it with `burnafter delete` where its sender allowed that" in revoked.stderr
    assert _shows_no_key(revoked.stderr, share)


async def test_the_client_library_deletes_where_the_sender_allowed_it(base_url: str) -> None:
    from services.client.api_client import Api, ApiError, delete
    from services.client.contents import open_link, send

    async with Api(base_url) as api:
        allowed = await send(api, secret_text(), max_views=2, recipient_may_delete=True)
        kept = await send(api, secret_text(), max_views=2)
        for sent in (allowed, kept):
            LEAK_WATCH.add_share_link(sent.link)
            LEAK_WATCH.add_receipt_link(sent.receipt_link)
        assert (allowed.recipient_may_delete, kept.recipient_may_delete) == (True, False)
        assert (await open_link(api, allowed.link)).recipient_may_delete is True
        await delete(api, allowed.link)
        with pytest.raises(ApiError) as gone:
            await open_link(api, allowed.link)
        assert gone.value.kind == "secret-not-found"
        with pytest.raises(ApiError) as refused:
            await delete(api, kept.link)
        assert (refused.value.status, refused.value.kind) == (403, "delete-not-allowed")
        opened = await open_link(api, kept.link)
        assert (opened.views_left, opened.recipient_may_delete) == (1, False)
