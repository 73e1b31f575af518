"""The ``burnafter`` command against a running api, as a user types it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import socket
import subprocess
from pathlib import Path

import asyncpg
import pytest

from services.cli.client_commands import ExitCode
from services.client.links import Link, make_link
from services.protocol.envelope import b64u_encode
from tests.support.cli import BIN, cli, cli_environment, cli_in_terminal, watch_cli_links
from tests.support.fixtures_types import ClientWith
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_passphrase, secret_text


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
    assert opened.stdout == text.encode() + b"\n"  # open ends the text with its newline
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
    opened = await cli("open", result["link"], "--json")
    assert json.loads(opened.stdout) == {
        "text": text,
        "files": [],
        "views_left": 1,
        "recipient_may_delete": False,
    }
    assert (await cli("open", result["link"])).stdout == text.encode() + b"\n"
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
    revoked = await cli("revoke", str(receipt), "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout) == {"revoked": True}
    assert (await cli("open", str(share))).returncode == ExitCode.GONE
    status = await cli("status", str(receipt))
    assert b"state:     revoked by its sender" in status.stdout
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
    assert b"4 attempts left" in wrong.stderr
    right = await cli("open", str(share), "--passphrase-file", str(passphrase_file))
    assert right.returncode == 0, right.stderr
    assert right.stdout == text.encode() + b"\n"


async def test_last_wrong_passphrase_says_the_secret_is_destroyed(
    base_url: str, passphrase_file: Path, tmp_path: Path
) -> None:
    sent = await cli(
        "send", "--server", base_url, "--passphrase-file", str(passphrase_file),
        stdin=secret_text().encode(),
    )  # fmt: skip
    share, receipt = watch_cli_links(sent.stdout, sent.stderr, passphrase_file.read_text().strip())
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("nope")
    said = [
        (await cli("open", str(share), "--passphrase-file", str(wrong_file))).stderr
        for _ in range(4)
    ]
    assert said[3] == b"burnafter: wrong passphrase; 1 attempt left\n"
    last = await cli("open", str(share), "--passphrase-file", str(wrong_file))
    assert last.returncode == ExitCode.PASSPHRASE
    assert last.stderr == (
        b"burnafter: wrong passphrase: that was the last attempt, and the secret is destroyed\n"
    )
    right = await cli("open", str(share), "--passphrase-file", str(passphrase_file))
    assert right.returncode == ExitCode.GONE
    status = await cli("status", str(receipt))
    assert b"state:     destroyed after too many wrong passphrases\n" in status.stdout
    assert b"passphrase: required; 5 wrong passphrases\n" in status.stdout
    assert b"  wrong passphrase " in status.stdout


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
    from services.client.api_client import Api
    from services.client.contents import ContentFile, send

    files = (
        ContentFile.from_bytes("../../escape.txt", "text/plain", b"one"),
        ContentFile.from_bytes("a.txt", "", b"two"),
    )
    async with Api(base_url) as api:
        sent = await send(api, "", files)
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
    from services.client.api_client import Api
    from services.client.contents import open_link, send
    from services.protocol.envelope import derive_secret_keys

    async with Api(base_url) as api:
        assert (await api.limits())["max_views"] == 100
        sent = await send(api, secret_text(), max_views=2)
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
    assert opened.stdout == text.encode() + b"\n"
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
    assert opened.stdout == text.encode() + b"\n"


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
            env=cli_environment(),
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


# Every path ends well (issue 14): the environment, the terminal, the messages.


def _links_on_screen(screen: bytes, passphrase: str | None = None) -> tuple[Link, Link]:
    """The share and receipt links that ``send`` showed on a terminal (each line as
    it stands after any progress line was rewritten), noted for the leak watch."""
    lines = [line.rpartition(b"\r")[2] for line in screen.split(b"\r\n")]
    share = next(line for line in lines if b"/s/" in line)
    receipt = next(line for line in lines if line.startswith(b"receipt (keep it private): "))
    return watch_cli_links(share, receipt, passphrase)


_NO_ENV_ERRORS = {"BURNAFTER_TIMEOUT": "abc", "BURNAFTER_TOKEN_FILE": "/nonexistent/token"}


@pytest.mark.parametrize("command", [("send",), ("status", "-")], ids=["send", "status"])
@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BURNAFTER_TIMEOUT", "abc", "BURNAFTER_TIMEOUT must be a number of seconds, got 'abc'"),
        ("BURNAFTER_TIMEOUT", "0", "BURNAFTER_TIMEOUT must be between 0.1 and 3600 seconds"),
        ("BURNAFTER_TOKEN_FILE", "{missing}", "BURNAFTER_TOKEN_FILE {missing}: No such file"),
        ("BURNAFTER_TOKEN_FILE", "{dir}", "BURNAFTER_TOKEN_FILE {dir}: Is a directory"),
        ("BURNAFTER_SERVER", "ftp://example.com", "BURNAFTER_SERVER must be an http(s) URL"),
    ],
    ids=["timeout-not-a-number", "timeout-zero", "token-file-missing", "token-file-folder",
         "server-not-http"],
)  # fmt: skip
async def test_a_bad_client_variable_is_one_line_that_names_it(
    tmp_path: Path, command: tuple[str, ...], name: str, value: str, says: str
) -> None:
    places = {"missing": str(tmp_path / "nope"), "dir": str(tmp_path)}
    result = await cli(*command, stdin=b"x\n", env={name: value.format(**places)})
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stderr.startswith(b"burnafter: " + says.format(**places).encode())
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == b""


async def test_help_and_version_work_whatever_the_environment() -> None:
    from importlib.metadata import version

    shown = await cli("--version", env=_NO_ENV_ERRORS)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"burnafter {version('burnafter')}\n".encode()
    commands = [
        (), ("send",), ("open",), ("delete",), ("status",), ("revoke",), ("api",), ("web",),
        ("reaper",), ("migrate",), ("dev",), ("probe",), ("token",), ("token", "create"),
        ("token", "list"), ("token", "revoke"),
    ]  # fmt: skip
    helps = await asyncio.gather(*(cli(*c, "--help", env=_NO_ENV_ERRORS) for c in commands))
    for command, shown in zip(commands, helps, strict=True):
        assert shown.returncode == 0, (command, shown.stderr)
        assert shown.stderr == b"", (command, shown.stderr)
        assert re.search(rb"\nexamples?:\n  (\S+ )*burnafter ", shown.stdout), (
            command,
            shown.stdout,
        )
    assert b"Exit codes:" in helps[0].stdout and b"BURNAFTER_TIMEOUT" in helps[0].stdout


_SILENT = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (("send", "--server", _SILENT), {}, ExitCode.UNREACHABLE),
        (("status", _LINK), {}, ExitCode.MALFORMED_LINK),
        (("open", _LINK, "--passphrase-file", "/nonexistent"), {}, ExitCode.ERROR),
        (("send",), {"BURNAFTER_TIMEOUT": "abc"}, ExitCode.USAGE),
        (("send", "--views", "none"), {}, ExitCode.USAGE),
        (("open", "--passphrase", "--passphrase-file", "F"), {}, ExitCode.USAGE),
    ],
    ids=["unreachable", "wrong-kind-of-link", "passphrase-file", "variable", "views", "both"],
)
async def test_with_json_errors_are_json_on_stderr_with_the_same_exit_code(
    args: tuple[str, ...], env: dict[str, str], code: ExitCode
) -> None:
    plain, as_json = await asyncio.gather(
        cli(*args, stdin=b"x\n", env=env), cli(*args, "--json", stdin=b"x\n", env=env)
    )
    assert plain.returncode == as_json.returncode == code, (plain.stderr, as_json.stderr)
    assert as_json.stdout == b""
    assert len(as_json.stderr.splitlines()) == 1, as_json.stderr
    error = json.loads(as_json.stderr)
    assert error == {"error": error["error"], "code": int(code)}
    assert isinstance(error["error"], str) and error["error"]
    if code != ExitCode.USAGE or env:  # argparse's own errors come with its usage line
        assert plain.stderr == f"burnafter: {error['error']}\n".encode()
    assert _KEY not in error["error"]


async def test_a_link_of_the_wrong_kind_names_the_command_that_takes_it(tmp_path: Path) -> None:
    receipt = make_link(_SILENT, "r", "A" * 22, os.urandom(32))
    share = make_link(_SILENT, "s", "A" * 22, os.urandom(32))
    opened = await cli("open", stdin=f"{receipt}\n".encode(), cwd=tmp_path)
    assert opened.returncode == ExitCode.MALFORMED_LINK, opened.stderr
    assert opened.stderr.startswith(b"burnafter: that is a receipt link, not a share link: ")
    assert b"`burnafter status`" in opened.stderr
    for command in ("status", "revoke"):
        result = await cli(command, str(share))
        assert result.returncode == ExitCode.MALFORMED_LINK, result.stderr
        assert result.stderr.startswith(b"burnafter: that is a share link, not a receipt link: ")
        assert b"`burnafter open`" in result.stderr
        assert _shows_no_key(result.stderr, share)
    assert _shows_no_key(opened.stderr, receipt)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("send", "--passphrase-file", "{missing}"), ExitCode.ERROR,
         "--passphrase-file {missing}: No such file or directory"),
        (("send", "--passphrase-file", "{dir}"), ExitCode.ERROR,
         "--passphrase-file {dir}: Is a directory"),
        (("send", "--file", "{missing}"), ExitCode.ERROR,
         "--file {missing}: No such file or directory"),
        (("open", _LINK, "--output-dir", "{missing}"), ExitCode.ERROR,
         "--output-dir {missing}: No such file or directory"),
        (("open", _LINK, "--output-dir", "{file}"), ExitCode.ERROR,
         "--output-dir {file}: Not a directory"),
        (("open", "--link-file", "{missing}"), ExitCode.ERROR,
         "--link-file {missing}: cannot read it: No such file or directory"),
        (("open", _LINK), ExitCode.UNREACHABLE,
         "cannot reach the server at http://127.0.0.1:9: Connection refused"),
        (("send", "--server", "localhost:8080"), ExitCode.USAGE,
         "argument --server: 'localhost:8080' is not an http(s) URL"),
        (("send", "--timeout", "soon"), ExitCode.USAGE,
         "argument --timeout: 'soon' is not a number of seconds from 0.1 to 3600"),
    ],
    ids=["passphrase-file-missing", "passphrase-file-folder", "file-missing", "output-dir-missing",
         "output-dir-a-file", "link-file-missing", "connection-refused", "server-not-a-url",
         "timeout-not-a-number"],
)  # fmt: skip
async def test_a_message_names_the_flag_and_says_what_the_system_said(
    tmp_path: Path, args: tuple[str, ...], code: ExitCode, says: str
) -> None:
    (tmp_path / "a-file").write_text("")
    places = {
        "missing": str(tmp_path / "nope"),
        "dir": str(tmp_path),
        "file": str(tmp_path / "a-file"),
    }
    result = await cli(*(arg.format(**places) for arg in args), stdin=b"x\n", cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert says.format(**places).encode() in result.stderr.splitlines()[-1], result.stderr
    assert not re.search(rb"[A-Za-z]+(Error|Exception)\b|Traceback", result.stderr), result.stderr
    assert _KEY.encode() not in result.stderr


async def test_a_silent_server_is_no_answer_within_the_timeout() -> None:
    """The server takes the connection (the kernel does, from its backlog) and never
    answers: the CLI gives up after the timeout of --timeout or BURNAFTER_TIMEOUT."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        base = f"http://127.0.0.1:{server.getsockname()[1]}"
        link = make_link(base, "s", "A" * 22, os.urandom(32))
        opened, sent = await asyncio.gather(
            cli("open", str(link), "--timeout", "0.5"),
            cli("send", "--server", base, stdin=b"x", env={"BURNAFTER_TIMEOUT": "0.5"}),
        )
    says = f"burnafter: no answer from {base} within 0.5 s (BURNAFTER_TIMEOUT / --timeout)\n"
    for result in (opened, sent):
        assert result.returncode == ExitCode.UNREACHABLE, result.stderr
        assert result.stderr == says.encode()


async def test_on_a_terminal_send_asks_for_the_secret_without_echo(base_url: str) -> None:
    text = secret_text()
    code, screen = await cli_in_terminal(
        "send", "--server", base_url, prompt=b"secret (not shown): ", typed=f"{text}\r".encode()
    )
    assert code == 0, screen
    assert text.encode() not in screen, "the terminal echoed the secret"
    share, _ = _links_on_screen(screen)
    assert b"uploading" not in screen  # no progress line for a small secret
    opened = await cli("open", str(share))
    assert opened.stdout == text.encode() + b"\n"


@pytest.mark.parametrize(
    ("typed", "code", "says"),
    [
        (b"\x03", ExitCode.INTERRUPTED, b"burnafter: interrupted\r\n"),
        (b"\x04", ExitCode.USAGE, b"burnafter: nothing to send: no secret given\r\n"),
        (b"first line\rsecond line\r", ExitCode.USAGE, b"attach a file with --file\r\n"),
    ],
    ids=["ctrl-c", "ctrl-d", "several-lines"],
)
async def test_on_a_terminal_the_secret_prompt_ends_well(
    base_url: str, typed: bytes, code: ExitCode, says: bytes
) -> None:
    result, screen = await cli_in_terminal(
        "send", "--server", base_url, prompt=b"secret (not shown): ", typed=typed
    )
    assert result == code, screen
    assert screen.endswith(says), screen
    assert b"first line" not in screen and b"second line" not in screen  # never echoed
    assert b"/s/" not in screen and b"Traceback" not in screen


async def test_on_a_terminal_send_asks_for_the_passphrase_twice_without_echo(
    base_url: str, tmp_path: Path
) -> None:
    text = secret_text()
    passphrase = secret_passphrase()
    asked = [(b"passphrase (not shown): ", f"{passphrase}\r".encode())]
    differ, screen = await cli_in_terminal(
        "send", "--server", base_url, "--passphrase", stdin=f"{text}\n".encode(),
        answers=[*asked, (b"the passphrase again: ", b"something else\r")],
    )  # fmt: skip
    assert differ == ExitCode.USAGE, screen
    assert screen.endswith(b"burnafter: the two passphrases differ; nothing was sent\r\n")
    code, screen = await cli_in_terminal(
        "send", "--server", base_url, "--passphrase", stdin=f"{text}\n".encode(),
        answers=[*asked, (b"the passphrase again: ", f"{passphrase}\r".encode())],
    )  # fmt: skip
    assert code == 0, screen
    assert passphrase.encode() not in screen and text.encode() not in screen
    share, _ = _links_on_screen(screen, passphrase)
    (tmp_path / "pass").write_text(passphrase)
    opened = await cli("open", str(share), "--passphrase-file", str(tmp_path / "pass"))
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"


async def test_on_a_terminal_open_asks_for_a_passphrase_without_echo(
    base_url: str, passphrase_file: Path, tmp_path: Path
) -> None:
    text = secret_text()
    passphrase = passphrase_file.read_text().strip()
    sent = await cli(
        "send", "--server", base_url, "--views", "2", "--passphrase-file", str(passphrase_file),
        stdin=text.encode(),
    )  # fmt: skip
    share, _ = watch_cli_links(sent.stdout, sent.stderr, passphrase)
    # Asked for when the server says it is needed, or at once with --passphrase.
    for flags in ((), ("--passphrase",)):
        code, screen = await cli_in_terminal(
            "open", str(share), *flags, "--output-dir", str(tmp_path),
            prompt=b"passphrase (not shown): ", typed=f"{passphrase}\r".encode(),
        )  # fmt: skip
        assert code == 0, screen
        assert f"{text}\r\n".encode() in screen
        assert passphrase.encode() not in screen, "the terminal echoed the passphrase"
        assert (b"needs a passphrase" in screen) == (not flags)


@pytest.mark.parametrize(
    ("piped", "stored", "printed"),
    [
        (b"{s}\n", "{s}", b"{s}\n"),  # echo secret | burnafter send
        (b"{s}", "{s}", b"{s}\n"),  # printf %s secret | burnafter send
        (b"{s}\r\n", "{s}", b"{s}\n"),
        (b"{s}\nline two\n\n", "{s}\nline two\n", b"{s}\nline two\n\n"),  # a blank line kept
        (b"  {s}  \n", "  {s}  ", b"  {s}  \n"),  # blanks are the sender's
    ],
    ids=["echo", "printf", "crlf", "blank-last-line", "blanks"],
)
async def test_one_final_newline_from_a_pipe_is_not_part_of_the_secret(
    base_url: str, piped: bytes, stored: str, printed: bytes
) -> None:
    """``send`` takes one final newline off standard input and ``open`` puts one
    back: ``burnafter open | burnafter send`` sends the very same secret again."""
    from services.client.api_client import Api
    from services.client.contents import open_link

    text = secret_text()
    piped, printed = piped.replace(b"{s}", text.encode()), printed.replace(b"{s}", text.encode())
    sent = await cli("send", "--server", base_url, "--views", "2", stdin=piped)
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    async with Api(base_url) as api:
        assert (await open_link(api, share)).text == stored.format(s=text)
    opened = await cli("open", str(share))
    assert opened.stdout == printed
    again = await cli("send", "--server", base_url, stdin=opened.stdout)
    share_again, _ = watch_cli_links(again.stdout, again.stderr)
    async with Api(base_url) as api:
        assert (await open_link(api, share_again)).text == stored.format(s=text)


async def test_a_large_file_shows_progress_on_a_terminal_only(
    base_url: str, tmp_path: Path
) -> None:
    base = base_url
    blob = os.urandom(1_500_000)  # two segments of the default 1 MiB
    LEAK_WATCH.add("file", blob[:64])
    big = tmp_path / "big.bin"
    big.write_bytes(blob)
    code, screen = await cli_in_terminal("send", "--server", base, "--file", str(big))
    assert code == 0, screen[-2000:]
    assert b"\ruploading 1.5 MB " in screen
    assert b"100%" in screen
    share, _ = _links_on_screen(screen)
    out = tmp_path / "out"
    out.mkdir()
    code, screen = await cli_in_terminal("open", str(share), "--output-dir", str(out))
    assert code == 0, screen[-2000:]
    assert b"\rdownloading 1.5 MB " in screen and b"100%" in screen
    assert (out / "big.bin").read_bytes() == blob
    # Not a terminal: no progress line, and not one carriage return.
    sent = await cli("send", "--server", base, "--file", str(big))
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    opened = await cli("open", str(share), "--output-dir", str(tmp_path))
    assert opened.returncode == 0, opened.stderr
    for result in (sent, opened):
        assert b"\r" not in result.stderr and b"%" not in result.stderr, result.stderr


async def test_status_and_messages_count_views_in_words(base_url: str) -> None:
    sent = await cli("send", "--server", base_url, "--views", "2", stdin=secret_text().encode())
    assert b"it can be viewed 2 times, until " in sent.stderr
    share, receipt = watch_cli_links(sent.stdout, sent.stderr)
    status = await cli("status", str(receipt))
    assert b"views:     not viewed, 2 views left\n" in status.stdout
    first = await cli("open", str(share))
    assert first.stderr == b"1 view left: it can be viewed once more\n"
    status = await cli("status", str(receipt))
    assert b"state:     active\n" in status.stdout
    assert b"views:     viewed once, 1 view left\n" in status.stdout
    last = await cli("open", str(share))
    assert last.stderr == b"that was the last view: the link will not open again\n"
    status = await cli("status", str(receipt))
    assert b"state:     viewed\n" in status.stdout
    assert b"views:     viewed 2 times\n" in status.stdout
    gone = await cli("revoke", str(receipt))
    assert gone.returncode == ExitCode.GONE
    assert gone.stderr == b"burnafter: the secret was already viewed: no views are left\n"


async def test_a_file_that_does_not_fit_is_named_before_anything_is_sent(
    api_with: ClientWith, tmp_path: Path, db: asyncpg.Connection
) -> None:
    # The same number as the web page and GET /limits ("64 KB in all" under 64 KiB:
    # text, files and their names together), the file named, and nothing encrypted
    # or stored.
    api = await api_with(MAX_CONTENT_BYTES=str(65_536))
    base = str(api.make_url("")).rstrip("/")
    big = tmp_path / "dump.sql"
    big.write_bytes(os.urandom(70_000))
    small = tmp_path / "notes.txt"
    small.write_bytes(b"fits")
    sent = await cli("send", "--server", base, "--file", str(small), "--file", str(big))
    assert sent.returncode == ExitCode.ERROR
    message = sent.stderr.decode()
    assert "dump.sql (68 KB)" in message and "notes.txt" not in message, message
    assert "at most 64 KB in all" in message, message
    assert "Traceback" not in message
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    fits = tmp_path / "fits.bin"
    # Exactly the limit: the header (lengths, count, name, type and size) and the bytes.
    header = 4 + 2 + 2 + len("fits.bin") + 2 + len("application/octet-stream") + 8
    fits.write_bytes(os.urandom(65_536 - header))
    sent = await cli("send", "--server", base, "--file", str(fits))
    assert sent.returncode == 0, sent.stderr
    watch_cli_links(sent.stdout, sent.stderr)
    assert await db.fetchval("SELECT count(*) FROM secrets") == 1
