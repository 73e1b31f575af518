"""``burnafter token``: API tokens from the command line, for operators with
database access. A new token's value is printed once, on standard output."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.client.translated import N_, _, date_time
from services.store import tokens
from services.store.errors import TokenNameTaken

if TYPE_CHECKING:
    from services.server.settings import Settings


def _name(value: str) -> str:
    if not tokens.is_valid_name(value):
        raise argparse.ArgumentTypeError(
            # Translators: what a token's name may hold.
            _("lower-case letters, digits, '.', '_', '-'; up to 64")
        )
    return value


def _days(value: str) -> int:
    try:
        return tokens.expiry_days(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_EXAMPLES = N_("""\
examples:
  burnafter token create --name ci-deploy --owner ops@example.com --expires-in-days 90
  burnafter token list
  burnafter token revoke ci-deploy""")


def add_token_commands(commands: argparse._SubParsersAction[Any]) -> None:
    token = commands.add_parser(
        "token",
        help=_("create, list and revoke API tokens (admins)"),
        description=_("API tokens, for admins where DATABASE_URL reaches the database."),
        epilog=_(_EXAMPLES),
    )
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help=_("make a token and print it, once"),
        description=_("Make a token and print it on standard output, once."),
        epilog=_("example:")
        + "\n  burnafter token create --name ci-deploy --owner ops@example.com "
        "--expires-in-days 90 > token.txt",
    )
    create.add_argument("--name", type=_name, required=True, help=_("unique name, e.g. ci-deploy"))
    create.add_argument("--owner", required=True, help=_("who answers for it (an e-mail)"))
    create.add_argument("--expires-in-days", type=_days, help=_("expiry; none by default"))
    actions.add_parser(
        "list",
        help=_("list tokens (never their values)"),
        description=_("List tokens: name, owner, state, expiry, last use; never their values."),
        epilog=_("example:") + "\n  burnafter token list",
    )
    revoke = actions.add_parser(
        "revoke",
        help=_("revoke a token by name"),
        description=_("Revoke a token by name: it stops working at once."),
        epilog=_("example:") + "\n  burnafter token revoke ci-deploy",
    )
    revoke.add_argument("name", type=_name)


def _when(moment: datetime | None) -> str:
    # Translators: a token that never expires, or was never used.
    return _("never") if moment is None else date_time(moment)


_STATE_WORDS = {
    # Translators: an API token's state, in `burnafter token list`.
    "active": N_("active"),
    # Translators: an API token's state, in `burnafter token list`.
    "revoked": N_("revoked"),
    # Translators: an API token's state, in `burnafter token list`.
    "expired": N_("expired"),
}


def _state(state: str) -> str:
    return _(_STATE_WORDS[state]) if state in _STATE_WORDS else state


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
                print(
                    _("burnafter token: --owner: printable, up to 254 characters"),
                    file=sys.stderr,
                )
                return 2
            days = args.expires_in_days
            try:
                value, made = await tokens.create_token(
                    pool, args.name, args.owner, None if days is None else days * 86400
                )
            except TokenNameTaken:
                message = _("burnafter token: a token named %(name)s exists")
                print(message % {"name": args.name}, file=sys.stderr)
                return 1
            auditor.record("token.created", outcome="ok", actor="cli", token=made.name)
            print(value)
            print(
                _("token %(name)s for %(owner)s, expires %(when)s: shown once, store it now")
                % {"name": made.name, "owner": made.owner, "when": _when(made.expires_at)},
                file=sys.stderr,
            )
            return 0
        if args.token_command == "list":
            now = datetime.now(UTC)
            # Translators: the headings of `burnafter token list`'s columns.
            headings = (_("NAME"), _("OWNER"), _("STATE"), _("EXPIRES"), _("LAST USED"))
            print("{:24} {:30} {:8} {:16} {}".format(*headings))
            for listed in await tokens.list_tokens(pool):
                print(
                    f"{listed.name:24} {listed.owner:30} {_state(listed.state(now)):8} "
                    f"{_when(listed.expires_at):16} {_when(listed.last_used_at)}"
                )
            return 0
        revoked = await tokens.revoke_token(pool, args.name)
        if revoked is None:
            message = _("burnafter token: no live token named %(name)s")
            print(message % {"name": args.name}, file=sys.stderr)
            return 1
        auditor.record("token.revoked", outcome="ok", actor="cli", token=revoked.name)
        print(_("revoked %(name)s") % {"name": revoked.name}, file=sys.stderr)
        return 0
    finally:
        await pool.close()
