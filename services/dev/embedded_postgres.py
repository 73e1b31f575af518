"""A private PostgreSQL server for ``make run`` and the tests.

It uses the machine's PostgreSQL binaries when there are any, else the build that
the ``pgserver`` wheel ships. It listens on a Unix socket inside its data folder,
so it never clashes with another server's port, and on loopback TCP only when
asked (containers on the host network cannot reach the socket). PostgreSQL refuses to run
as root; as root, the server runs as the ``postgres`` user (or ``nobody``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

SUPERUSER = "postgres"


class PostgresNotFound(RuntimeError):
    pass


def find_bindir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versioned, key=lambda p: int(p.parent.name), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresNotFound("no PostgreSQL server binaries found (install postgresql or pgserver)")


def server_user() -> pwd.struct_passwd | None:
    """The user a server of ours runs as when we are root (PostgreSQL and PgBouncer
    refuse root); None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in (SUPERUSER, "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresNotFound("running as root, and no 'postgres' or 'nobody' user to run as")


class EmbeddedPostgres:
    """A server whose data and socket live in ``datadir``."""

    def __init__(self, datadir: Path, *, durable: bool = True, tcp_port: int | None = None) -> None:
        self.datadir = datadir.resolve()
        self.durable = durable
        self.tcp_port = tcp_port
        self.bindir = find_bindir()
        self.user = server_user()

    def run_tool(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """One of PostgreSQL's programs (``pg_ctl``, ``pg_basebackup``…), as the user
        the server runs as."""
        return self._run_as_user([str(self.bindir / tool), *args])

    def _run_as_user(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            user=self.user.pw_uid if self.user else None,
            group=self.user.pw_gid if self.user else None,
        )

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{result.stdout}{result.stderr}")

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        if self.tcp_port:
            return f"postgresql://{SUPERUSER}@127.0.0.1:{self.tcp_port}/{database}"
        return f"postgresql://{SUPERUSER}@/{database}?host={self.datadir}"

    def _check_reachable(self) -> None:
        """As root, the server runs as another user, who must be able to reach the folder."""
        if self.user and self._run_as_user(["test", "-w", str(self.datadir)]).returncode != 0:
            raise PostgresNotFound(
                f"PostgreSQL refuses to run as root, and user {self.user.pw_name!r} cannot "
                f"reach {self.datadir}: move the checkout somewhere that user can reach, "
                "or set DATABASE_URL"
            )

    def start(self) -> str:
        """Create the cluster if needed, start it, and return the URL of ``postgres``."""
        if not (self.datadir / "PG_VERSION").exists():
            self.datadir.mkdir(parents=True, exist_ok=True)
            if self.user:
                os.chown(self.datadir, self.user.pw_uid, self.user.pw_gid)
            self._check_reachable()
            self._check(
                self.run_tool(
                    "initdb",
                    "-D",
                    str(self.datadir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ),
                "initdb",
            )
        if self.running():
            return self.url
        listen = f"127.0.0.1 -p {self.tcp_port}" if self.tcp_port else "''"
        options = f"-c listen_addresses={listen} -k {self.datadir} -c max_connections=200"
        if not self.durable:  # throwaway test clusters: speed over crash safety
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            # No replicas: minimal WAL halves the cost of copying a template database.
            options += " -c wal_level=minimal -c max_wal_senders=0"
        self._check(
            self.run_tool(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
                "-l", str(self.datadir / "server.log"), "-o", options,
            ),
            "pg_ctl start",
        )  # fmt: skip
        return self.url

    def running(self) -> bool:
        return self.run_tool("pg_ctl", "status", "-D", str(self.datadir)).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._check(
                self.run_tool("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.datadir)),
                "pg_ctl stop",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--find", action="store_true", help="print the binaries' folder")
    group.add_argument("--stop", metavar="DATADIR", help="stop the server of DATADIR")
    args = parser.parse_args()
    try:
        if args.find:
            print(find_bindir())
        else:
            EmbeddedPostgres(Path(args.stop)).stop()
    except PostgresNotFound as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
