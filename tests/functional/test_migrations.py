"""Migrations: applied once, in order, under a lock; services refuse an un-migrated database."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from services.store.migrations import NO_TRANSACTION, Migration, load_migrations, migrate
from tests.support.cli import cli
from tests.support.database import PostgresServer, create_database


async def test_concurrent_migrations_apply_each_file_once(postgres: PostgresServer) -> None:
    url = await create_database(postgres, migrated=False)
    conns = [await asyncpg.connect(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(conn) for conn in conns))
        versions = [m.version for m in load_migrations()]
        assert sorted(v for applied in results for v in applied) == versions
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == versions
        assert await migrate(conns[0]) == []
    finally:
        for conn in conns:
            await conn.close()


async def test_services_refuse_an_unmigrated_database_and_say_so(postgres: PostgresServer) -> None:
    url = await create_database(postgres, migrated=False)
    for role in (["api"], ["reaper", "--once"]):
        result = await cli(*role, env={"DATABASE_URL": url, "HTTP_PORT": "0"})
        assert result.returncode != 0
        assert b"burnafter migrate" in result.stderr
    migrated = await cli("migrate", env={"DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stderr
    assert (await cli("reaper", "--once", env={"DATABASE_URL": url})).returncode == 0


async def test_missing_database_url_stops_start_up_with_its_name() -> None:
    result = await cli("api", env={})
    assert result.returncode != 0
    assert b"DATABASE_URL is required" in result.stderr
    bad = await cli("api", env={"DATABASE_URL": "postgresql:///x", "MAX_VIEWS": "lots"})
    assert b"MAX_VIEWS" in bad.stderr


async def test_a_migration_waits_for_a_table_s_lock_only_so_long_then_changes_nothing(
    database_url: str, db: asyncpg.Connection
) -> None:
    """A long transaction holds ``secrets``: without a lock timeout, an ALTER TABLE
    would wait for it, and every query on the table would queue behind the ALTER."""
    alter = Migration(
        "9001_add_a_column",
        "CREATE TABLE lock_test_marker (id int);\nALTER TABLE secrets ADD COLUMN lock_test text;",
    )
    holder = await asyncpg.connect(database_url)
    migrator = await asyncpg.connect(database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT count(*) FROM secrets")  # holds ACCESS SHARE
            started = time.monotonic()
            with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
                # Bounded here too: without the lock timeout it would wait forever.
                await asyncio.wait_for(migrate(migrator, [alter], lock_timeout=0.3), 5)
            assert time.monotonic() - started < 5
        assert await db.fetchval("SELECT to_regclass('lock_test_marker')") is None
        assert not await db.fetchval(
            "SELECT count(*) FROM schema_migrations WHERE version = $1", alter.version
        )
        assert await migrate(migrator, [alter], lock_timeout=0.3) == [alter.version]  # free now
    finally:
        await holder.close()
        await migrator.close()


async def test_an_index_is_built_concurrently_outside_a_transaction(
    database_url: str, db: asyncpg.Connection
) -> None:
    """A file marked ``-- burnafter: no transaction`` runs statement by statement, so
    CREATE INDEX CONCURRENTLY can run, and writes go on meanwhile. Run again after
    a failure half-way, it starts over."""
    index = Migration(
        "9002_index_concurrently",
        f"{NO_TRANSACTION}\n"
        "DROP INDEX CONCURRENTLY IF EXISTS receipts_by_label_test;\n"
        "CREATE INDEX CONCURRENTLY receipts_by_label_test ON receipts (label);\n",
    )
    assert not index.transactional
    # A failure half-way: the index exists but is not valid, and nothing is recorded.
    await db.execute("CREATE INDEX receipts_by_label_test ON receipts (label)")
    await db.execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
        "'receipts_by_label_test'::regclass"
    )
    assert await migrate(db, [index]) == [index.version]
    valid = await db.fetchval(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'receipts_by_label_test'::regclass"
    )
    assert valid is True
    assert await migrate(db, [index]) == []
    in_a_transaction = Migration("9003", "CREATE INDEX CONCURRENTLY x ON receipts (state);")
    with pytest.raises(asyncpg.exceptions.ActiveSQLTransactionError):
        await migrate(db, [in_a_transaction])  # why the marker exists
