"""PgBouncer for the tests: Debian's ``pgbouncer`` in transaction mode in front of the
session's PostgreSQL, with fewer server connections than clients, so that
consecutive transactions of one client really do land on different server
connections, as they do in production behind a busy pooler."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from services.dev.embedded_postgres import server_user
from tests.support.database import with_database
from tools.net import free_port

# Fewer than the clients: the two api processes of a race hold up to 8 each.
SERVER_CONNECTIONS = 4


def find_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if not found:
        raise AssertionError("pgbouncer is missing: `make test-tools` installs it")
    return found


def _backend(admin_url: str) -> str:
    """PgBouncer's ``[databases]`` connection string for the server behind
    ``admin_url`` (a Unix socket folder given as ``?host=``, or TCP)."""
    parts = urlsplit(admin_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    return f"host={host} port={parts.port or 5432} user={parts.username or 'postgres'}"


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url_for(self, database_url: str) -> str:
        """``database_url``'s database, reached through this PgBouncer."""
        parts = urlsplit(database_url)
        database = parts.path.lstrip("/")
        user = parts.username or "postgres"
        return with_database(f"postgresql://{user}@127.0.0.1:{self.port}/", database)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "safe shutdown"
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_pgbouncer(folder: Path, admin_url: str) -> PgBouncer:
    """PgBouncer on a loopback port, in transaction mode, for every database of the
    server behind ``admin_url``. It refuses to run as root: as root it runs as the
    user the embedded PostgreSQL runs as."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "pgbouncer.log"
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = {_backend(admin_url)}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 500\n"
        # asyncpg asks for these at start-up; PgBouncer refuses unknown ones.
        "ignore_startup_parameters = extra_float_digits,options\n"
        "log_connections = 0\nlog_disconnections = 0\n",
        encoding="utf-8",
    )
    user = server_user()
    with log.open("ab") as out:  # PgBouncer logs to stderr
        process = subprocess.Popen(
            [find_pgbouncer(), str(config)],
            stdout=out,
            stderr=out,
            cwd="/",
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else ""
            raise AssertionError(f"pgbouncer exited with {process.returncode}: {text[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return PgBouncer(process, port, log)
        except OSError:
            time.sleep(0.02)  # a poll period: the wait ends as soon as it listens
    process.kill()
    raise AssertionError(f"pgbouncer did not listen on {port} within 20 s")
