"""The asyncpg pool. The caller owns it: services open it in a cleanup context."""

from __future__ import annotations

import secrets

import asyncpg
from asyncpg.exceptions import (
    InsufficientResourcesError,
    OperatorInterventionError,
    ReadOnlySQLTransactionError,
    TargetServerAttributeNotMatched,
)

# Everything that means "PostgreSQL cannot be reached right now": refused or
# timed-out connections and statements, a server restarting or shutting down, out
# of connection slots, or a server that takes no writes (a standby, or a primary
# demoted by a failover, still named by an address that has not moved yet), or, of
# a multi-host DATABASE_URL with target_session_attrs, no host that does (mid-
# failover, before the promotion). These answer 503; nothing else does.
DATABASE_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    OperatorInterventionError,
    InsufficientResourcesError,
    ReadOnlySQLTransactionError,
    TargetServerAttributeNotMatched,
)

# A pooler in transaction mode (PgBouncer before 1.21, or with its
# ``max_prepared_statements`` at 0) hands each transaction to any of its server
# connections, where the statements asyncpg prepared and cached on another one are
# missing, or taken by another client's. ``DB_STATEMENT_CACHE_SIZE=0`` is the fix
# (docs/operations.md); until then these answer 503 too, with that fix in the log.
STATEMENTS_LOST = (
    asyncpg.exceptions.InvalidSQLStatementNameError,
    asyncpg.exceptions.DuplicatePreparedStatementError,
)


class Connection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg's connection, with its prepared statements named uniquely across
    processes. asyncpg numbers them from 1 in every process, so through a pooler in
    transaction mode with the cache on (a misconfiguration), one process's
    ``__asyncpg_stmt_1__`` could be found on a server connection where another
    process prepared a different statement under that name, and run it with these
    arguments. With a random part per process, a name from elsewhere is never
    found: the error is STATEMENTS_LOST's, answered 503."""

    _PROCESS = secrets.token_hex(6)

    def _get_unique_id(self, prefix: str) -> str:
        return f"__burnafter_{self._PROCESS}{super()._get_unique_id(prefix)}"


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without a reset round trip. asyncpg's default runs ``RESET ALL``,
    ``CLOSE ALL``, ``UNLISTEN *`` and ``pg_advisory_unlock_all()`` on every release:
    one more round trip per query. burnafter never changes session state on a pool
    connection (no SET, LISTEN, cursors or advisory locks; migrations run on their
    own connection), and asyncpg still rolls back an open transaction before this."""


async def create_pool(
    url: str, *, min_size: int, max_size: int, statement_cache_size: int, db_timeout: float
) -> asyncpg.Pool:
    """Open a pool; ``statement_cache_size=0`` makes it safe behind PgBouncer in
    transaction mode. ``db_timeout`` bounds connects and statements."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        statement_cache_size=statement_cache_size,
        timeout=db_timeout,
        command_timeout=db_timeout,
        server_settings={"application_name": "burnafter"},
        reset=_keep_session,
        connection_class=Connection,
    )
    return pool
