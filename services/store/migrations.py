"""Schema migrations: ordered SQL files, each applied in a transaction under an
advisory lock."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

from services.store.errors import DatabaseNotMigrated

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every burnafter process.
_ADVISORY_LOCK = 0x6275726E  # "burn"

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str


def load_migrations() -> list[Migration]:
    folder = resources.files("services.store") / "sql" / "migrations"
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return [Migration(entry.name.removesuffix(".sql"), entry.read_text("utf-8")) for entry in files]


async def applied_versions(conn: asyncpg.Connection) -> set[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply every pending migration, each in its own transaction; return their versions.

    Each transaction first takes a transaction-level advisory lock, then checks the
    ledger again: of several processes migrating at once, one applies a migration
    and the others find it done. Nothing outlives a transaction (a session lock
    would), so this runs through a pooler in transaction mode such as PgBouncer."""
    applied: list[str] = []
    done = await applied_versions(conn)
    for migration in load_migrations():
        if migration.version in done:
            continue
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK)
            await conn.execute(_CREATE_LEDGER)
            if migration.version in await applied_versions(conn):
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)", migration.version
            )
        log.info("migration_applied", version=migration.version)
        applied.append(migration.version)
    return applied


async def ensure_migrated(conn: asyncpg.Connection) -> None:
    """Refuse to serve on a database whose schema is behind this code."""
    pending = [
        m.version for m in load_migrations() if m.version not in await applied_versions(conn)
    ]
    if pending:
        raise DatabaseNotMigrated(
            f"database is not migrated ({len(pending)} pending: {', '.join(pending)}); "
            "run `burnafter migrate` first"
        )
