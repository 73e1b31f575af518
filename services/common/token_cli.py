"""``burnafter token``: API tokens from the command line, for operators with
database access. A new token's value is printed once, on standard output."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from services.common import tokens
from services.common.audit import Auditor
from services.common.db import create_pool
from services.common.migrations import ensure_migrated
from services.common.settings import Settings

MAX_EXPIRES_DAYS = 3650


def _name(value: str) -> str:
    if not tokens.NAME.match(value):
        raise argparse.ArgumentTypeError("lower-case letters, digits, '.', '_', '-'; up to 64")
    return value


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_EXPIRES_DAYS:
        raise argparse.ArgumentTypeError(f"1 to {MAX_EXPIRES_DAYS}")
    return int(value)


def add_token_commands(commands: argparse._SubParsersAction) -> None:
    token = commands.add_parser("token", help="create, list and revoke API tokens (admins)")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print it, once")
    create.add_argument("--name", type=_name, required=True, help="unique name, e.g. ci-deploy")
    create.add_argument("--owner", required=True, help="who answers for it (an e-mail)")
    create.add_argument("--expires-in-days", type=_days, help="expiry; none by default")
    actions.add_parser("list", help="list tokens (never their values)")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name", type=_name)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    pool = await create_pool(settings)
    auditor = Auditor(settings.audit_key, "cli")
    try:
        async with pool.acquire() as conn:
            await ensure_migrated(conn)
        if args.token_command == "create":
            if len(args.owner) > tokens.MAX_OWNER_CHARS:
                print("burnafter token: --owner is too long", file=sys.stderr)
                return 2
            days = args.expires_in_days
            try:
                value, made = await tokens.create_token(
                    pool, args.name, args.owner, None if days is None else days * 86400
                )
            except tokens.TokenNameTaken:
                print(f"burnafter token: a token named {args.name} exists", file=sys.stderr)
                return 1
            auditor.record("token.created", outcome="ok", actor="cli", token=made.name)
            print(value)
            print(
                f"token {made.name} for {made.owner}, expires {_when(made.expires_at)}: "
                "shown once, store it now",
                file=sys.stderr,
            )
            return 0
        if args.token_command == "list":
            now = datetime.now(UTC)
            print(f"{'NAME':24} {'OWNER':30} {'STATE':8} {'EXPIRES':16} LAST USED")
            for listed in await tokens.list_tokens(pool):
                print(
                    f"{listed.name:24} {listed.owner:30} {listed.state(now):8} "
                    f"{_when(listed.expires_at):16} {_when(listed.last_used_at)}"
                )
            return 0
        revoked = await tokens.revoke_token(pool, args.name)
        if revoked is None:
            print(f"burnafter token: no live token named {args.name}", file=sys.stderr)
            return 1
        auditor.record("token.revoked", outcome="ok", actor="cli", token=revoked.name)
        print(f"revoked {revoked.name}", file=sys.stderr)
        return 0
    finally:
        await pool.close()
