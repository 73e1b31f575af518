"""``burnafter token``: API tokens from the command line, for operators with
database access. A new token's value is printed once, on standard output."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.store import tokens
from services.store.errors import TokenNameTaken

if TYPE_CHECKING:
    from services.server.settings import Settings


def _name(value: str) -> str:
    if not tokens.is_valid_name(value):
        raise argparse.ArgumentTypeError("lower-case letters, digits, '.', '_', '-'; up to 64")
    return value


def _days(value: str) -> int:
    try:
        return tokens.expiry_days(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_EXAMPLES = """\
examples:
  burnafter token create --name ci-deploy --owner ops@example.com --expires-in-days 90
  burnafter token list
  burnafter token revoke ci-deploy"""


def add_token_commands(commands: argparse._SubParsersAction[Any]) -> None:
    token = commands.add_parser(
        "token",
        help="create, list and revoke API tokens (admins)",
        description="API tokens, for admins where DATABASE_URL reaches the database.",
        epilog=_EXAMPLES,
    )
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="make a token and print it, once",
        description="Make a token and print it on standard output, once.",
        epilog="example:\n  burnafter token create --name ci-deploy --owner ops@example.com "
        "--expires-in-days 90 > token.txt",
    )
    create.add_argument("--name", type=_name, required=True, help="unique name, e.g. ci-deploy")
    create.add_argument("--owner", required=True, help="who answers for it (an e-mail)")
    create.add_argument("--expires-in-days", type=_days, help="expiry; none by default")
    actions.add_parser(
        "list",
        help="list tokens (never their values)",
        description="List tokens: name, owner, state, expiry, last use; never their values.",
        epilog="example:\n  burnafter token list",
    )
    revoke = actions.add_parser(
        "revoke",
        help="revoke a token by name",
        description="Revoke a token by name: it stops working at once.",
        epilog="example:\n  burnafter token revoke ci-deploy",
    )
    revoke.add_argument("name", type=_name)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: every `burnafter` command builds this parser, and these pull in
    # the server's logging and database stack (a fifth of a second at each start).
    from services.server.audit import Auditor
    from services.server.database import open_database

    pool = await open_database(settings)
    auditor = Auditor(settings.audit_key, "cli")
    try:
        if args.token_command == "create":
            if not tokens.is_valid_owner(args.owner):
                print("burnafter token: --owner: printable, up to 254 characters", file=sys.stderr)
                return 2
            days = args.expires_in_days
            try:
                value, made = await tokens.create_token(
                    pool, args.name, args.owner, None if days is None else days * 86400
                )
            except TokenNameTaken:
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
