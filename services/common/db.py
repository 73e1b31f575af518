"""The asyncpg pool. The caller owns it: services open it in a cleanup context."""

from __future__ import annotations

import asyncpg

from services.common.settings import Settings


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """Open the pool; ``DB_STATEMENT_CACHE_SIZE=0`` makes it safe behind PgBouncer
    in transaction mode."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
        server_settings={"application_name": "burnafter"},
    )
    return pool
