"""``burnafter``: the one command for every role and every client action.

Server roles: ``api``, ``web``, ``reaper [--once]``, ``migrate``, ``dev``.
Client commands: ``send``, ``open``, ``status``, ``revoke``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from services.cli.client_commands import add_client_commands, run_client_command
from services.client.settings import load_client_settings
from services.server.settings import Settings, SettingsError, load_settings
from services.store.errors import DatabaseNotMigrated


def _server_settings() -> Settings:
    # Imported here: client commands (send, open, …) log nothing, so they skip structlog.
    from services.server.log_setup import configure_logging

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def run_api() -> None:
    from services.api.app import create_app
    from services.server.service import serve

    serve(create_app(_server_settings()))


def run_web() -> None:
    from services.server.service import serve
    from services.web.app import create_app

    serve(create_app(_server_settings()))


def run_reaper(once: bool) -> None:
    import uvloop

    from services.worker.main import run

    uvloop.run(run(_server_settings(), once=once))


def run_migrate() -> None:
    from services.server.database import migrate_database

    applied = asyncio.run(migrate_database(_server_settings()))
    print(f"migrated: {len(applied)} applied", file=sys.stderr)


def run_token(args: argparse.Namespace) -> None:
    """``burnafter token create|list|revoke``: run by an operator where DATABASE_URL
    reaches the database (kubectl exec into a pod, say)."""
    from services.cli.tokens import run

    settings = _server_settings()
    sys.exit(asyncio.run(run(settings, args)))


def run_probe(url: str) -> None:
    """Exit 0 when ``url`` answers 200 within 2 s: a container healthcheck that
    needs no curl and no shell quoting."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - operator's URL
            ok = response.status == 200
    except OSError:
        ok = False
    sys.exit(0 if ok else 1)


def run_dev() -> None:
    from services.dev.app import run

    run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="burnafter", description="Zero-knowledge, self-destructing secrets."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("api", help="serve the REST API")
    commands.add_parser("web", help="serve the web frontend")
    reaper = commands.add_parser("reaper", help="delete expired secrets, in a loop")
    reaper.add_argument("--once", action="store_true", help="run one pass and exit")
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("dev", help="everything in one process, for development (make run)")
    from services.cli.tokens import add_token_commands

    add_token_commands(commands)
    probe = commands.add_parser("probe", help="exit 0 if URL answers 200 (container healthchecks)")
    probe.add_argument("url")
    add_client_commands(commands, load_client_settings())
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if hasattr(args, "client_command"):
        sys.exit(run_client_command(args, load_client_settings()))
    roles: dict[str, Callable[[], None]] = {
        "api": run_api,
        "web": run_web,
        "reaper": lambda: run_reaper(args.once),
        "migrate": run_migrate,
        "dev": run_dev,
        "probe": lambda: run_probe(args.url),
        "token": lambda: run_token(args),
    }
    try:
        roles[args.command]()
    except (SettingsError, DatabaseNotMigrated) as exc:
        sys.exit(f"burnafter {args.command}: {exc}")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
