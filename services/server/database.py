"""The database as every role opens it: one pool, on a schema this code can use."""

from __future__ import annotations

import asyncpg

from services.server.settings import Settings
from services.store.db import Connection, create_pool
from services.store.migrations import ensure_migrated, migrate


async def open_database(settings: Settings) -> asyncpg.Pool:
    """The pool of a server role (api, web, worker, ``burnafter token``), refusing a
    database whose schema is behind this code. The caller closes it."""
    pool = await create_pool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
        db_timeout=settings.db_timeout,
    )
    try:
        async with pool.acquire() as conn:
            await ensure_migrated(conn)
    except BaseException:
        await pool.close()
        raise
    return pool


async def migrate_database(settings: Settings) -> list[str]:
    """Apply the pending migrations on a connection of its own; return their versions.
    Honours ``DB_STATEMENT_CACHE_SIZE``, so it runs through PgBouncer too."""
    conn = await asyncpg.connect(
        settings.database_url,
        statement_cache_size=settings.db_statement_cache_size,
        timeout=settings.db_timeout,
        connection_class=Connection,
    )
    try:
        return await migrate(conn)
    finally:
        await conn.close()
