"""The client commands of ``burnafter``: send, open, status, revoke.

Errors are one line on stderr and a distinct exit code (see ``ExitCode``); none
repeats a link, key or token.

A link holds its key after ``#`` (a receipt link, the key to the manage token), so
``open``, ``status`` and ``revoke`` also read it from standard input (a prompt that
does not echo, on a terminal) or from ``--link-file``: a command line can be read by
every local user in ``/proc/PID/cmdline``, and the shell keeps it in its history."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import mimetypes
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable, Coroutine
from enum import IntEnum
from pathlib import Path
from typing import Any, BinaryIO

from services.client import api_client
from services.client.api_client import Api, ApiError, ClientError, InsecureServer, ServerUnreachable
from services.client.links import MAX_LINK_CHARS, Link, LinkKind, MalformedLink, parse_link
from services.client.settings import ClientSettings
from services.protocol.envelope import EnvelopeError, Payload, SecretFile


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    GONE = 3
    PASSPHRASE = 4
    UNREACHABLE = 5
    MALFORMED_LINK = 6
    INTERRUPTED = 130  # Ctrl-C, as a shell reports it


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``90s``, ``30m``, ``1h``, ``7d`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 1h or 7d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def read_passphrase(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the passphrase file: {type(exc).__name__}") from None
    passphrase = text.removesuffix("\n").removesuffix("\r")
    if not passphrase:
        raise CliError("the passphrase file is empty")
    return passphrase


_LINK_NAME = {"s": "share link", "r": "receipt link"}


def _first_line(stream: BinaryIO, where: str, kind: LinkKind) -> str:
    """The first line of ``stream``, stripped; reads no more than a link can take."""
    limit = MAX_LINK_CHARS + 3  # room for surrounding blanks and a CRLF
    line = stream.readline(limit)
    if len(line) == limit and not line.endswith(b"\n"):
        raise MalformedLink(
            f"that is not a {_LINK_NAME[kind]}: the first line of {where} is too long"
        )
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise MalformedLink(f"that is not a {_LINK_NAME[kind]}: {where} is not text") from None
    if not text:
        raise CliError(f"no link: the first line of {where} is empty", ExitCode.USAGE)
    return text


def _read_link_file(path: str, kind: LinkKind) -> str:
    """The first line of the file ``path``. A regular file that group or others may
    read is refused, as ssh refuses such a private key: the link would be theirs too."""
    try:
        with Path(path).open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if stat.S_ISREG(mode) and mode & (stat.S_IRGRP | stat.S_IROTH):
                raise CliError(
                    f"the link file {path} can be read by other users: chmod 600 it, "
                    "or give the link on standard input"
                )
            return _first_line(file, path, kind)
    except OSError as exc:
        raise CliError(f"cannot read the link file {path}: {exc.strerror}") from None


def _stdin_is_a_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _link_from_stdin(argument: str | None, link_file: str | None) -> bool:
    return argument in (None, "-") and link_file is None


def read_link(argument: str | None, link_file: str | None, kind: LinkKind) -> Link:
    """The link from the command line (kept for compatibility), ``--link-file``, or
    standard input when ``argument`` is omitted or ``-``: a prompt without echo on a
    terminal (getpass: it reads and writes ``/dev/tty``), else the first line."""
    if link_file is not None and argument is not None:
        raise CliError("give the link as an argument or with --link-file, not both", ExitCode.USAGE)
    if link_file is not None:
        return parse_link(_read_link_file(link_file, kind), kind)
    if argument is not None and argument != "-":
        return parse_link(argument, kind)
    if _stdin_is_a_terminal():
        try:
            text = getpass.getpass(f"{_LINK_NAME[kind]} (not shown): ")
        except EOFError:  # Ctrl-D: end the prompt's line before the message
            if sys.stderr is not None and sys.stderr.isatty():
                print(file=sys.stderr)
            raise CliError("no link given", ExitCode.USAGE) from None
        except UnicodeDecodeError:
            raise MalformedLink(f"that is not a {_LINK_NAME[kind]}: it is not text") from None
        if not text.strip():
            raise CliError("no link given", ExitCode.USAGE)
        return parse_link(text, kind)
    if sys.stdin is None:
        raise CliError("no link: standard input is closed", ExitCode.USAGE)
    return parse_link(_first_line(sys.stdin.buffer, "standard input", kind), kind)


def _is_standard_input(path: str) -> bool:
    try:
        return os.path.samestat(Path(path).stat(), os.fstat(0))
    except OSError:
        return False


def _read_files(paths: list[str]) -> tuple[SecretFile, ...]:
    files = []
    for name in paths:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read {name}: {exc.strerror}") from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(SecretFile(name=path.name, type=kind, data=data))
    return tuple(files)


def _read_text(has_files: bool) -> str:
    if has_files and sys.stdin.isatty():
        return ""
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError("standard input is not UTF-8 text; send binary data with --file") from None


def safe_name(name: str) -> str:
    """A sender's file name as we print and write it: no folders, not hidden, and no
    control or format characters (a terminal escape sequence starts with one, and a
    right-to-left override disguises an extension); each becomes ``_``."""
    base = Path(name.replace("\\", "/")).name.lstrip(".")
    cleaned = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in base)
    return cleaned or "file"


def safe_targets(folder: Path, names: list[str]) -> list[Path]:
    """Where each file goes: under ``folder`` only, never over an existing file, and
    no two files on one path. The next free number of each name is remembered, so
    a thousand files of one name cost about a thousand look-ups, not half a million."""
    taken: set[Path] = set()
    next_number: dict[str, int] = {}
    targets = []
    for name in names:
        base = safe_name(name)
        stem, suffix, n = Path(base).stem, Path(base).suffix, next_number.get(base, 0)
        candidate = folder / base if n == 0 else folder / f"{stem} ({n}){suffix}"
        while candidate in taken or candidate.exists():
            n += 1
            candidate = folder / f"{stem} ({n}){suffix}"
        next_number[base] = n + 1
        taken.add(candidate)
        targets.append(candidate)
    return targets


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


async def cmd_send(args: argparse.Namespace, settings: ClientSettings) -> None:
    files = _read_files(args.file)
    payload = Payload(text=_read_text(bool(files)), files=files)
    if not payload.text and not payload.files:
        raise CliError("nothing to send: pipe the secret on standard input, or give --file")
    async with Api(
        args.server, timeout=settings.timeout, insecure=args.insecure, api_token=settings.api_token
    ) as api:
        sent = await api_client.send(
            api,
            payload,
            passphrase=read_passphrase(args.passphrase_file),
            max_views=args.views,
            expires_in=args.expires,
            label=args.label,
            notify=tuple(args.notify),
        )
    if args.json:
        _print_json(
            {
                "link": str(sent.link),
                "receipt": str(sent.receipt_link),
                "expires_at": sent.expires_at,
                "max_views": sent.max_views,
            }
        )
    else:
        print(sent.link)
        print(f"receipt (keep it private): {sent.receipt_link}", file=sys.stderr)


def take_link(args: argparse.Namespace) -> Link:
    """The link of ``open`` (``args.link``), ``status`` or ``revoke``
    (``args.receipt_link``). Read before the event loop starts, so a Ctrl-C at the
    prompt interrupts at once (``asyncio.run`` would only cancel its task)."""
    if args.link_kind == "r":
        return read_link(args.receipt_link, args.link_file, "r")
    if (
        args.passphrase_file is not None
        and _link_from_stdin(args.link, args.link_file)
        and not _stdin_is_a_terminal()
        and _is_standard_input(args.passphrase_file)
    ):
        raise CliError(
            "the link and the passphrase cannot both come from standard input: "
            "give the link with --link-file, or the passphrase in a file",
            ExitCode.USAGE,
        )
    return read_link(args.link, args.link_file, "s")


async def cmd_open(args: argparse.Namespace, settings: ClientSettings) -> None:
    link: Link = args.taken_link
    folder = Path(args.output_dir)
    if not folder.is_dir():
        raise CliError(f"no such folder: {args.output_dir}")
    passphrase = read_passphrase(args.passphrase_file)
    async with Api(link.base, timeout=settings.timeout, insecure=args.insecure) as api:
        opened = await api_client.open_link(api, link, passphrase)
    sys.stdout.write(opened.payload.text)
    if opened.payload.text and not opened.payload.text.endswith("\n") and sys.stdout.isatty():
        sys.stdout.write("\n")
    sys.stdout.flush()
    files = opened.payload.files
    for item, target in zip(files, safe_targets(folder, [f.name for f in files]), strict=True):
        with target.open("xb") as out:
            out.write(item.data)
        print(f"wrote {target}", file=sys.stderr)
    if opened.views_left == 0:
        print("This link is now spent: it will not open again.", file=sys.stderr)


async def cmd_status(args: argparse.Namespace, settings: ClientSettings) -> None:
    link: Link = args.taken_link
    async with Api(link.base, timeout=settings.timeout, insecure=args.insecure) as api:
        receipt = await api_client.read_status(api, link)
    if args.json:
        _print_json(receipt)
        return
    lines = [
        f"state:     {receipt['state']}",
        *([f"label:     {receipt['label']}"] if receipt.get("label") else []),
        f"views:     {receipt['views']} of {receipt['max_views']}",
        f"created:   {receipt['created_at']}",
        f"expires:   {receipt['expires_at']}",
    ]
    if receipt["passphrase"]:
        lines.append(
            f"passphrase: {receipt['failed_attempts']} of {receipt['max_attempts']} wrong guesses"
        )
    lines.append("events:")
    for event in receipt["events"]:
        who = " ".join(filter(None, [event["client_address"], event["user_agent"]]))
        lines.append(f"  {event['at']}  {event['event']:<13} {who}".rstrip())
    if receipt.get("notify"):
        lines.append(f"notifications (to {', '.join(receipt['notify'])}):")
        lines += [
            f"  {sent['occurred_at']}  {sent['event']:<15} {sent['endpoint']}: "
            f"{sent['state']} after {sent['attempts']} attempt(s)"
            for sent in receipt["notifications"]
        ]
    print("\n".join(lines))


async def cmd_revoke(args: argparse.Namespace, settings: ClientSettings) -> None:
    link: Link = args.taken_link
    async with Api(link.base, timeout=settings.timeout, insecure=args.insecure) as api:
        await api_client.revoke(api, link)
    print("revoked: the secret is destroyed", file=sys.stderr)


_LINK_SAFETY = (
    "The link holds its key after '#'. Rather than as an argument, give it on "
    "standard input (omit it, or give -: the first line is read; on a terminal you "
    "are asked for it and it is not shown) or with --link-file: other local users can "
    "read a command line in /proc/PID/cmdline, and your shell keeps it in its history."
)


def _add_link_arguments(parser: argparse.ArgumentParser, dest: str, kind: LinkKind) -> None:
    name = _LINK_NAME[kind]
    parser.add_argument(
        dest,
        nargs="?",
        metavar=dest.upper(),
        help=f"the {name}; omit it or give - to read it from standard input (safer)",
    )
    parser.add_argument(
        "--link-file",
        metavar="PATH",
        help=f"read the {name} from the first line of PATH, a file only you can read",
    )


def _add_insecure_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--insecure", action="store_true", help="allow plain http to a non-loopback server"
    )


def add_client_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: ClientSettings,
) -> None:
    send = commands.add_parser("send", help="encrypt standard input (and files) into a link")
    send.add_argument("--views", type=int, help="how many times the link opens (default 1)")
    send.add_argument(
        "--expires", type=parse_duration, help="lifetime such as 30m, 1h, 7d (server default)"
    )
    send.add_argument("--passphrase-file", metavar="F", help="require the passphrase in file F")
    send.add_argument(
        "--file", metavar="PATH", action="append", default=[], help="attach a file (repeatable)"
    )
    send.add_argument("--label", help="a private note for you, shown on the receipt")
    send.add_argument(
        "--server", default=settings.server, help=f"server URL (default {settings.server})"
    )
    send.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="NAME",
        help="tell this webhook endpoint (configured by the operator) when it is opened",
    )
    send.add_argument("--json", action="store_true", help="print link and receipt as JSON")
    _add_insecure_flag(send)
    send.set_defaults(client_command=cmd_send)

    open_ = commands.add_parser(
        "open",
        help="open a share link (spends one view)",
        description="Open a share link: spends one view. " + _LINK_SAFETY,
    )
    _add_link_arguments(open_, "link", "s")
    open_.add_argument(
        "--passphrase-file",
        metavar="F",
        help="the passphrase, in file F (not standard input when the link comes from it)",
    )
    open_.add_argument("--output-dir", metavar="DIR", default=".", help="where files are written")
    _add_insecure_flag(open_)
    open_.set_defaults(client_command=cmd_open, link_kind="s")

    status = commands.add_parser(
        "status",
        help="show a receipt: state and access events",
        description="Show a receipt: state, views, expiry and access events. " + _LINK_SAFETY,
    )
    _add_link_arguments(status, "receipt_link", "r")
    status.add_argument("--json", action="store_true", help="print the receipt as JSON")
    _add_insecure_flag(status)
    status.set_defaults(client_command=cmd_status, link_kind="r")

    revoke = commands.add_parser(
        "revoke",
        help="destroy a secret through its receipt link",
        description="Destroy a secret now, through its receipt link. " + _LINK_SAFETY,
    )
    _add_link_arguments(revoke, "receipt_link", "r")
    _add_insecure_flag(revoke)
    revoke.set_defaults(client_command=cmd_revoke, link_kind="r")


_API_EXIT = {
    "secret-not-found": ExitCode.GONE,
    "receipt-not-found": ExitCode.GONE,
    "secret-already-ended": ExitCode.GONE,
    "passphrase-required": ExitCode.PASSPHRASE,
    "wrong-passphrase": ExitCode.PASSPHRASE,
}


def _explain(exc: ApiError) -> str:
    if exc.kind == "passphrase-required":
        return "this secret needs a passphrase: give it with --passphrase-file"
    if exc.kind == "wrong-passphrase" and exc.problem.get("attempts_left") == 0:
        return "wrong passphrase; that was the last attempt, and the secret is destroyed"
    if exc.kind == "wrong-passphrase":
        return f"wrong passphrase; {exc.problem.get('attempts_left')} attempt(s) left"
    return str(exc)


def run_client_command(args: argparse.Namespace, settings: ClientSettings) -> int:
    command: Callable[[argparse.Namespace, ClientSettings], Coroutine[None, None, None]] = (
        args.client_command
    )
    try:
        if getattr(args, "link_kind", None) is not None:
            args.taken_link = take_link(args)
        asyncio.run(command(args, settings))
    except KeyboardInterrupt:
        print("\nburnafter: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except ApiError as exc:
        print(f"burnafter: {_explain(exc)}", file=sys.stderr)
        return _API_EXIT.get(exc.kind, ExitCode.ERROR)
    except MalformedLink as exc:
        print(f"burnafter: {exc}", file=sys.stderr)
        return ExitCode.MALFORMED_LINK
    except ServerUnreachable as exc:
        print(f"burnafter: {exc}", file=sys.stderr)
        return ExitCode.UNREACHABLE
    except InsecureServer as exc:
        print(f"burnafter: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except (CliError, ClientError, EnvelopeError) as exc:
        print(f"burnafter: {exc}", file=sys.stderr)
        return getattr(exc, "code", ExitCode.ERROR)
    return ExitCode.OK
