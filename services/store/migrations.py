"""Schema migrations: ordered SQL files, each applied in a transaction under an
advisory lock and a lock timeout; or, marked so, statement by statement outside a
transaction (``CREATE INDEX CONCURRENTLY``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

from services.store.errors import DatabaseNotMigrated

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every burnafter process.
_ADVISORY_LOCK = 0x6275726E  # "burn"
# How long a migration's statement may wait for a table's lock. Past it the migration
# fails, changes nothing, and the next run (the Job's next try) starts it again.
# Waiting longer would be worse: every query on that table queues behind the wait.
LOCK_TIMEOUT = 5.0
# The first line of a file to apply outside a transaction, one statement at a time:
# CREATE INDEX CONCURRENTLY cannot run in one. A failure leaves the statements before
# it applied, and the next run starts the file over, so each must allow that: a
# failed CREATE INDEX CONCURRENTLY leaves an invalid index behind, hence
#   DROP INDEX CONCURRENTLY IF EXISTS name;
#   CREATE INDEX CONCURRENTLY name ON ...;
# (the ledger records the file only once all of it ran).
NO_TRANSACTION = "-- burnafter: no transaction"

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


_RECORD = "INSERT INTO schema_migrations (version) VALUES ($1)"


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    @property
    def transactional(self) -> bool:
        return not self.sql.startswith(NO_TRANSACTION)

    def statements(self) -> list[str]:
        """A non-transactional file's statements: each ends with ``;`` at a line's
        end (such a file holds plain statements, no function bodies)."""
        parts = self.sql.removeprefix(NO_TRANSACTION).split(";\n")
        return [part.strip() for part in parts if part.strip()]


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


async def migrate(
    conn: asyncpg.Connection,
    migrations: list[Migration] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> list[str]:
    """Apply every pending migration (of ``migrations``, by default the package's
    files); return their versions.

    A file is applied in a transaction that first takes a transaction-level advisory
    lock, then checks the ledger again: of several processes migrating at once, one
    applies it and the others find it done. Nothing outlives a transaction (a session
    lock would), so this runs through a pooler in transaction mode such as PgBouncer.
    Each statement waits at most ``lock_timeout`` seconds for a lock, or the
    migration fails (asyncpg's LockNotAvailableError) having changed nothing."""
    applied: list[str] = []
    done = await applied_versions(conn)
    for migration in load_migrations() if migrations is None else migrations:
        if migration.version in done:
            continue
        if migration.transactional:
            did = await _apply_in_a_transaction(conn, migration, lock_timeout)
        else:
            did = await _apply_statement_by_statement(conn, migration)
        if not did:
            continue
        log.info("migration_applied", version=migration.version)
        applied.append(migration.version)
    return applied


async def _apply_in_a_transaction(
    conn: asyncpg.Connection, migration: Migration, lock_timeout: float
) -> bool:
    """Apply the file, unless another process did meanwhile; say whether this did."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK)
        # After the advisory lock: waiting for another migrator is not the danger.
        await conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")
        await conn.execute(_CREATE_LEDGER)
        if migration.version in await applied_versions(conn):
            return False
        await conn.execute(migration.sql)
        await conn.execute(_RECORD, migration.version)
    return True


async def _apply_statement_by_statement(conn: asyncpg.Connection, migration: Migration) -> bool:
    """Each statement on its own (autocommit), then the ledger; say whether this did
    it. Run again after a failure, it starts over: each statement must allow that.
    Nothing can be locked across statements through a pooler, so such a file is for
    one migrator at a time (the Job); the ledger, read again just before, keeps a
    second one from running a file the first has finished."""
    if migration.version in await applied_versions(conn):
        return False
    for statement in migration.statements():
        await conn.execute(statement)
    async with conn.transaction():
        await conn.execute(_CREATE_LEDGER)
        await conn.execute(f"{_RECORD} ON CONFLICT (version) DO NOTHING", migration.version)
    return True


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
