"""PostgreSQL for the tests: the session's server and fresh databases from its migrated
template."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.dev.embedded_postgres import EmbeddedPostgres
from services.store.migrations import migrate
from tests.support.leaks import LEAK_WATCH


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@dataclass(frozen=True)
class PostgresServer:
    admin_url: str
    template: str
    log_file: Path | None


async def create_database(postgres: PostgresServer, *, migrated: bool = True) -> str:
    """A new database, migrated (from the template) or empty; dropped after the session."""
    name = f"burnafter_t_{secrets.token_hex(6)}"
    template = f" TEMPLATE {postgres.template}" if migrated else ""
    conn = await asyncpg.connect(postgres.admin_url)
    try:
        # PostgreSQL 15+ copies a small template faster file by file than through the
        # WAL (about 70 ms against 140 on the test clusters): a test makes one.
        if conn.get_server_version() >= (15, 0):
            template += " STRATEGY FILE_COPY"
        await conn.execute(f"CREATE DATABASE {name}{template}")
    finally:
        await conn.close()
    url = with_database(postgres.admin_url, name)
    LEAK_WATCH.database_urls.append(url)
    return url


async def start_durable_postgres(folder: Path) -> EmbeddedPostgres:
    """A PostgreSQL of the test's own in ``folder``, durable like production (each
    commit flushes its WAL; the suite's own server does not), started and migrated;
    its log is watched for leaks. The caller stops it."""
    server = EmbeddedPostgres(folder)
    await asyncio.to_thread(server.start)
    LEAK_WATCH.log_files.append(server.datadir / "server.log")
    conn = await asyncpg.connect(server.url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return server
