"""The ``burnafter`` command against a running api, as a user types it."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
from pathlib import Path

import pytest

from services.cli.client_commands import ExitCode
from services.client.links import Link, make_link
from services.protocol.envelope import b64u_encode
from tests.support.cli import BIN, cli, cli_in_terminal, watch_cli_links
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


# The link off the command line (review finding 11): other local users read a
# command line in /proc/PID/cmdline, and the shell keeps it in its history.


def _shows_no_key(output: bytes, link: Link) -> bool:
    return b64u_encode(link.key).encode() not in output and str(link).encode() not in output


@pytest.mark.parametrize("link_args", [(), ("-",)], ids=["omitted", "dash"])
async def test_open_reads_the_link_from_standard_input(
    base_url: str, tmp_path: Path, link_args: tuple[str, ...]
) -> None:
    text = secret_text()
    sent = await cli("send", "--server", base_url, stdin=text.encode())
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    # burnafter send | burnafter open: the link on stdout is the first line of stdin.
    opened = await cli("open", *link_args, "--output-dir", str(tmp_path), stdin=sent.stdout)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode()
    assert _shows_no_key(opened.stderr, share)


async def test_open_reads_the_link_from_a_private_link_file_and_refuses_a_shared_one(
    base_url: str, tmp_path: Path
) -> None:
    text = secret_text()
    sent = await cli("send", "--server", base_url, stdin=text.encode())
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    link_file = tmp_path / "link"
    link_file.write_text(f"  {share}\r\nonly the first line counts\n")
    link_file.chmod(0o644)
    shared = await cli("open", "--link-file", str(link_file), cwd=tmp_path)
    assert shared.returncode == ExitCode.ERROR
    assert shared.stderr.startswith(b"burnafter: ") and len(shared.stderr.splitlines()) == 1
    assert b"other users" in shared.stderr and b"chmod 600" in shared.stderr
    assert _shows_no_key(shared.stderr, share)
    link_file.chmod(0o600)
    opened = await cli("open", "--link-file", str(link_file), cwd=tmp_path)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode()


async def test_status_and_revoke_read_the_receipt_link_from_stdin_or_a_file(
    base_url: str, tmp_path: Path
) -> None:
    sent = await cli("send", "--server", base_url, stdin=secret_text().encode())
    share, receipt = watch_cli_links(sent.stdout, sent.stderr)
    status = await cli("status", stdin=f"{receipt}\n".encode())
    assert status.returncode == 0, status.stderr
    assert b"state:     active" in status.stdout
    revoked = await cli("revoke", "-", stdin=f"{receipt}\n".encode())
    assert revoked.returncode == 0, revoked.stderr
    assert _shows_no_key(revoked.stderr, receipt)
    assert (await cli("open", stdin=f"{share}\n".encode())).returncode == ExitCode.GONE
    receipt_file = tmp_path / "receipt"
    receipt_file.write_text(f"{receipt}\n")
    receipt_file.chmod(0o600)
    status = await cli("status", "--link-file", str(receipt_file), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "revoked"


async def test_on_a_terminal_open_prompts_for_the_link_without_echoing_it(
    base_url: str, tmp_path: Path
) -> None:
    text = secret_text()
    sent = await cli("send", "--server", base_url, stdin=text.encode())
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    code, screen = await cli_in_terminal(
        "open", "--output-dir", str(tmp_path), prompt=b"share link", typed=f"{share}\r".encode()
    )
    assert b"share link" in screen, screen
    assert code == 0, screen
    assert text.encode() in screen
    assert _shows_no_key(screen, share), "the terminal echoed the link"


@pytest.mark.parametrize(
    ("typed", "code", "says"),
    [(b"\x03", 130, b"interrupted"), (b"\x04", ExitCode.USAGE, b"no link given")],  # 130: Ctrl-C
    ids=["ctrl-c", "ctrl-d"],
)
async def test_on_a_terminal_ctrl_c_or_ctrl_d_at_the_prompt_ends_with_one_clear_line(
    typed: bytes, code: int, says: bytes
) -> None:
    result, screen = await cli_in_terminal("revoke", prompt=b"receipt link", typed=typed)
    assert b"receipt link" in screen, screen
    assert result == code, screen
    assert screen.endswith(b"burnafter: " + says + b"\r\n"), screen
    assert b"Traceback" not in screen


def test_a_link_read_from_stdin_is_not_on_the_process_command_line(tmp_path: Path) -> None:
    """While ``open`` talks to the server, its /proc/PID/cmdline (readable by every
    local user) holds no key. The "server" is a socket that accepts and hangs up:
    when it accepts, the CLI has read the link and is using it."""
    key = os.urandom(32)
    with socket.create_server(("127.0.0.1", 0)) as server:
        link = make_link(f"http://127.0.0.1:{server.getsockname()[1]}", "s", "A" * 22, key)
        with subprocess.Popen(
            [str(BIN / "burnafter"), "open", "--output-dir", str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "")},
        ) as process:
            assert process.stdin is not None and process.stderr is not None
            process.stdin.write(f"{link}\n".encode())
            process.stdin.close()
            # Whichever comes first: the CLI connects, or it exits (its stderr closes).
            ready = select.select([server.fileno(), process.stderr.fileno()], [], [], 60)[0]
            assert server.fileno() in ready, f"the CLI never connected: {process.stderr.read()!r}"
            connection, _ = server.accept()
            with connection:
                cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
            stderr = process.stderr.read()
    assert b"open" in cmdline.split(b"\0")
    assert b64u_encode(key).encode() not in cmdline
    assert process.returncode == ExitCode.UNREACHABLE
    assert b64u_encode(key).encode() not in stderr


_KEY = "k" * 42 + "A"  # a well-formed key: never to be shown back
_LINK = f"http://127.0.0.1:9/s/{'A' * 22}#{_KEY}"


@pytest.mark.parametrize(
    ("args", "stdin", "file_text", "code", "says"),
    [
        (("open",), b"", None, ExitCode.USAGE, b"no link"),
        (("open",), f"\n{_LINK}\n".encode(), None, ExitCode.USAGE, b"no link"),
        (("open", _LINK, "--link-file", "{file}"), b"", _LINK, ExitCode.USAGE, b"not both"),
        (("open", "-", "--link-file", "{file}"), b"", _LINK, ExitCode.USAGE, b"not both"),
        (("open", "--link-file", "{missing}"), b"", None, ExitCode.ERROR, b"cannot read"),
        (("open", "--link-file", "{dir}"), b"", None, ExitCode.ERROR, b"cannot read"),
        (("revoke", "--link-file", "{file}"), b"", " \n", ExitCode.USAGE, b"no link"),
        (("open",), b"\xff\xfe" + _LINK.encode(), None, ExitCode.MALFORMED_LINK, b"not text"),
        (("open",), _LINK.encode() + b"A" * 5000, None, ExitCode.MALFORMED_LINK, b"too long"),
        (("status",), _LINK.encode(), None, ExitCode.MALFORMED_LINK, b"not a receipt link"),
        (
            ("open", "--passphrase-file", "/dev/stdin"),
            _LINK.encode(),
            None,
            ExitCode.USAGE,
            b"standard input",
        ),
    ],
    ids=[
        "empty-stdin",
        "blank-first-line",
        "argument-and-file",
        "dash-and-file",
        "missing-file",
        "folder",
        "blank-file",
        "not-utf8",
        "too-long",
        "wrong-kind",
        "passphrase-on-stdin-too",
    ],
)
async def test_a_bad_link_input_is_one_clear_line_without_the_key(
    tmp_path: Path,
    args: tuple[str, ...],
    stdin: bytes,
    file_text: str | None,
    code: ExitCode,
    says: bytes,
) -> None:
    link_file = tmp_path / "link"
    if file_text is not None:
        link_file.write_text(file_text)
        link_file.chmod(0o600)
    places = {"file": str(link_file), "missing": str(tmp_path / "nope"), "dir": str(tmp_path)}
    result = await cli(*(arg.format(**places) for arg in args), stdin=stdin, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith(b"burnafter: ") and len(result.stderr.splitlines()) == 1
    assert says in result.stderr
    assert _KEY.encode() not in result.stderr
