"""``burnafter``: the one command for every role and every client action.

Server roles: ``api``, ``web``, ``reaper [--once]``, ``migrate``, ``dev``.
Client commands: ``send``, ``open``, ``delete``, ``status``, ``revoke``, ``request``,
``answer``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from services.cli.client_commands import (
    ExitCode,
    add_client_commands,
    report_error,
    run_client_command,
)
from services.cli.request_commands import add_request_commands
from services.client import translated
from services.client.settings import ClientSettingsError, load_client_settings
from services.client.translated import N_, _, ngettext
from services.server.settings import Settings, SettingsError, load_settings
from services.store.errors import DatabaseNotMigrated


def _server_settings() -> Settings:
    # Imported here: client commands (send, open, …) log nothing, so they skip structlog.
    from services.server.log_setup import configure_logging

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


# How a supervisor starts its workers (services/server/workers.py): the socket a
# worker serves its metrics on. Not for people: --help does not show it.
WORKER_OPTION = "--worker-metrics"


def run_api(worker_metrics: str | None) -> None:
    from services.api.app import create_app

    settings = _server_settings()
    _serve_role("api", settings, settings.api_workers, worker_metrics, create_app)


def run_web(worker_metrics: str | None) -> None:
    from services.web.app import create_app

    settings = _server_settings()
    _serve_role("web", settings, settings.web_workers, worker_metrics, create_app)


def _serve_role(
    role: str,
    settings: Settings,
    workers: int,
    worker_metrics: str | None,
    create_app: Callable[[Settings], Any],
) -> None:
    """Serve the role's app in this process; or, when more than one worker is asked
    for, start that many and supervise them. A worker is given ``worker_metrics``."""
    from services.server.service import serve
    from services.server.workers import die_with_the_supervisor, supervise

    if worker_metrics is not None:
        die_with_the_supervisor()
    elif workers > 1:
        # On asyncio's own loop: the supervisor is light, and uvloop cannot connect
        # to the workers' abstract Unix sockets by name.
        command = [sys.executable, "-m", "services.cli.main", role, WORKER_OPTION]
        sys.exit(asyncio.run(supervise(command, workers, settings)))
    serve(create_app(settings), worker_metrics)


def run_reaper(once: bool) -> None:
    import uvloop

    from services.worker.main import run

    uvloop.run(run(_server_settings(), once=once))


def run_migrate() -> None:
    from services.server.database import migrate_database

    applied = asyncio.run(migrate_database(_server_settings()))
    # Translators: database migrations.
    message = ngettext("migrated: %(count)s applied", "migrated: %(count)s applied", len(applied))
    print(message % {"count": len(applied)}, file=sys.stderr)


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


def package_version() -> str:
    try:
        return version("burnafter")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class Parser(argparse.ArgumentParser):
    """argparse, with examples laid out as written, and usage errors as JSON on
    stderr when the command line asks for ``--json`` (exit 2 either way)."""

    json_errors = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if Parser.json_errors:
            print(json.dumps({"error": message, "code": int(ExitCode.USAGE)}), file=sys.stderr)
            sys.exit(ExitCode.USAGE)
        super().error(message)


# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_EXAMPLES = N_("""\
examples:
  burnafter send                         # asks for the secret, prints the share link
  echo 'hunter2' | burnafter send --views 2 --expires 1h
  burnafter send --file id_ed25519 --passphrase
  burnafter open                         # asks for the share link, prints the secret
  burnafter delete                       # as its recipient, where the sender allowed it
  burnafter status < receipt.txt
  burnafter revoke --link-file receipt.txt
  burnafter request --note 'the staging key, please'   # a fill link to send, a collect link
  burnafter answer --link-file fill.txt < key.txt      # only the asker can open the answer
  burnafter open --link-file collect.txt               # the answer, with the collect link
  burnafter dev                          # everything on http://127.0.0.1:8080
  DATABASE_URL=postgresql://... burnafter migrate && burnafter api""")
_VARIABLES_AND_EXIT_CODES = N_("""\
The client commands read BURNAFTER_SERVER, BURNAFTER_TIMEOUT, BURNAFTER_TOKEN and
BURNAFTER_TOKEN_FILE. Exit codes: 0 ok, 1 error, 2 usage, 3 gone, 4 passphrase
needed or wrong, 5 server unreachable, 6 malformed link, 7 not allowed (a delete
the sender did not allow, files a request did not ask for), 8 request already
answered, 9 request not answered yet, 130 interrupted.""")


def _role(
    commands: argparse._SubParsersAction[Any],
    name: str,
    summary: tuple[str, str],
    examples: str,
) -> argparse.ArgumentParser:
    """A server role's command: its ``summary`` (the help, and the description: each
    translated), and its examples."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary[0], description=summary[1], epilog=examples
    )
    return parser


def _example(command: str) -> str:
    """An example of a command, under its heading."""
    # Translators: the heading of one example in --help.
    return _("example:") + "\n  " + command


def _examples(*commands: str) -> str:
    # Translators: the heading of examples in --help.
    return _("examples:") + "".join("\n  " + command for command in commands)


_DB = "DATABASE_URL=postgresql://burnafter@db/burnafter"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="burnafter",
        description=_(
            "Zero-knowledge, self-destructing secrets. Each command has --help, with examples "
            "of its own."
        ),
        epilog=_(_EXAMPLES) + "\n\n" + _(_VARIABLES_AND_EXIT_CODES),
    )
    parser.add_argument("--version", action="version", version=f"burnafter {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    api = _role(
        commands,
        "api",
        (_("serve the REST API"), _("Serve the REST API.")),
        _example(f"{_DB} HTTP_PORT=8081 burnafter api"),
    )
    web = _role(
        commands,
        "web",
        (_("serve the web frontend"), _("Serve the web frontend.")),
        _example(f"{_DB} burnafter web"),
    )
    for served in (api, web):  # how a supervisor starts its workers: not for people
        served.add_argument(WORKER_OPTION, dest="worker_metrics", help=argparse.SUPPRESS)
    reaper = _role(
        commands,
        "reaper",
        (_("delete expired secrets, in a loop"), _("Delete expired secrets, in a loop.")),
        # Translators: a comment after an example command.
        _examples(f"{_DB} burnafter reaper", f"{_DB} burnafter reaper --once   # " + _("one pass")),
    )
    reaper.add_argument("--once", action="store_true", help=_("run one pass and exit"))
    _role(
        commands,
        "migrate",
        (_("apply the database migrations"), _("Apply the database migrations.")),
        _example(f"{_DB} burnafter migrate"),
    )
    _role(
        commands,
        "dev",
        (
            _("everything in one process, for development (make run)"),
            _("Everything in one process, for development (make run)."),
        ),
        # Translators: a comment after an example command.
        _example("burnafter dev   # " + _("http://127.0.0.1:8080, embedded PostgreSQL")),
    )
    from services.cli.tokens import add_token_commands

    add_token_commands(commands)
    probe = _role(
        commands,
        "probe",
        (
            _("exit 0 if URL answers 200 (container healthchecks)"),
            _("Exit 0 if URL answers 200 (container healthchecks)."),
        ),
        _example("burnafter probe http://127.0.0.1:8080/healthz"),
    )
    probe.add_argument("url")
    add_client_commands(commands)
    add_request_commands(commands)
    return parser


def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    Parser.json_errors = _wants_json(argv)
    # With --json a program reads the command: its messages stay in English.
    translated.speak(translated.ENGLISH if Parser.json_errors else None)
    args = build_parser().parse_args(argv)
    if hasattr(args, "client_command"):
        try:
            settings = load_client_settings()
        except ClientSettingsError as exc:
            sys.exit(report_error(str(exc), ExitCode.USAGE, bool(args.json)))
        sys.exit(run_client_command(args, settings))
    roles: dict[str, Callable[[], None]] = {
        "api": lambda: run_api(args.worker_metrics),
        "web": lambda: run_web(args.worker_metrics),
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
    except Exception as exc:
        if not _database_unreachable(exc):
            raise
        # Its type and message only: the host, a certificate's complaint, the user
        # refused; never the URL, which may hold a password.
        sys.exit(f"burnafter {args.command}: cannot use the database: {type(exc).__name__}: {exc}")


def _database_unreachable(exc: Exception) -> bool:
    import asyncpg

    from services.store.db import DATABASE_UNAVAILABLE

    return isinstance(exc, (*DATABASE_UNAVAILABLE, asyncpg.InvalidAuthorizationSpecificationError))


if __name__ == "__main__":
    main()
