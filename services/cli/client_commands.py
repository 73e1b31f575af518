"""The client commands of ``burnafter``: send, open, status, revoke.

Errors are one line on stderr and a distinct exit code (see ``ExitCode``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import re
import sys
import unicodedata
from collections.abc import Callable, Coroutine
from enum import IntEnum
from pathlib import Path
from typing import Any

from services.client import api_client
from services.client.api_client import Api, ApiError, ClientError, InsecureServer, ServerUnreachable
from services.client.links import MalformedLink, parse_link
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


async def cmd_open(args: argparse.Namespace, settings: ClientSettings) -> None:
    link = parse_link(args.link, "s")
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
    link = parse_link(args.receipt_link, "r")
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
    link = parse_link(args.receipt_link, "r")
    async with Api(link.base, timeout=settings.timeout, insecure=args.insecure) as api:
        await api_client.revoke(api, link)
    print("revoked: the secret is destroyed", file=sys.stderr)


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

    open_ = commands.add_parser("open", help="open a share link (spends one view)")
    open_.add_argument("link")
    open_.add_argument("--passphrase-file", metavar="F", help="the passphrase, in file F")
    open_.add_argument("--output-dir", metavar="DIR", default=".", help="where files are written")
    _add_insecure_flag(open_)
    open_.set_defaults(client_command=cmd_open)

    status = commands.add_parser("status", help="show a receipt: state and access events")
    status.add_argument("receipt_link")
    status.add_argument("--json", action="store_true", help="print the receipt as JSON")
    _add_insecure_flag(status)
    status.set_defaults(client_command=cmd_status)

    revoke = commands.add_parser("revoke", help="destroy a secret through its receipt link")
    revoke.add_argument("receipt_link")
    _add_insecure_flag(revoke)
    revoke.set_defaults(client_command=cmd_revoke)


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
        asyncio.run(command(args, settings))
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
