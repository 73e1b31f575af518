"""Migrations: applied once, in order, under a lock; services refuse an un-migrated database."""

from __future__ import annotations

import asyncio

import asyncpg

from services.store.migrations import load_migrations, migrate
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
