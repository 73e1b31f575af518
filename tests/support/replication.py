"""A PostgreSQL primary with a streaming standby, for failover tests: what a cluster
manager (CloudNativePG, Patroni) runs, without the manager. The test plays the
manager: it kills the primary and promotes the standby. The standby streams through
a proxy that the test can tell to stop delivering: a network that lags."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.dev.embedded_postgres import SUPERUSER, EmbeddedPostgres
from services.store.migrations import migrate
from tests.support.leaks import LEAK_WATCH
from tests.support.proxy import HoldingProxy
from tests.support.waiting import eventually
from tools.net import free_port

DATABASE = "burnafter"
STANDBY_NAME = "standby"


def _checked(server: EmbeddedPostgres, tool: str, *args: str) -> None:
    done = server.run_tool(tool, *args)
    if done.returncode != 0:
        raise AssertionError(f"{tool} failed:\n{done.stdout}{done.stderr}")


@dataclass
class ReplicatedPostgres:
    primary: EmbeddedPostgres
    standby: EmbeddedPostgres
    link: HoldingProxy  # the standby's way to the primary

    @property
    def url(self) -> str:
        """Both servers, in order, as a multi-host URL that only takes a server that
        accepts writes: what the services are given."""
        hosts = ",".join(f"127.0.0.1:{s.tcp_port}" for s in (self.primary, self.standby))
        return f"postgresql://{SUPERUSER}@{hosts}/{DATABASE}?target_session_attrs=read-write"

    def url_of(self, server: EmbeddedPostgres) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{server.tcp_port}/{DATABASE}"

    def hold_replication(self) -> None:
        """From now on no WAL reaches the standby."""
        self.link.hold()

    async def kill_primary(self) -> None:
        """A crash: ``pg_ctl stop -m immediate`` (no checkpoint, connections cut)."""
        await asyncio.to_thread(self.primary.stop, "immediate")

    async def promote(self) -> None:
        await asyncio.to_thread(_checked, self.standby, "pg_ctl", "promote", "-w", "-D",
                                str(self.standby.datadir))  # fmt: skip

    async def stop(self) -> None:
        await self.link.close()
        for server in (self.primary, self.standby):
            await asyncio.to_thread(server.stop, "immediate")


async def start_replicated(folder: Path, *, synchronous: bool) -> ReplicatedPostgres:
    """A durable primary with the burnafter database migrated, and a standby made by
    ``pg_basebackup`` that streams from it; with ``synchronous``, a commit returns
    only once the standby has its WAL on disk (``synchronous_commit = on``)."""
    primary_port = free_port()
    primary = EmbeddedPostgres(folder / "primary", tcp_port=primary_port)
    await asyncio.to_thread(primary.start)
    LEAK_WATCH.log_files.append(primary.datadir / "server.log")
    conn = await asyncpg.connect(primary.url)
    try:
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(primary.url_for(DATABASE))
    try:
        await migrate(conn)
    finally:
        await conn.close()

    standby_dir = folder / "standby"
    standby_dir.mkdir(mode=0o700)
    if primary.user:
        os.chown(standby_dir, primary.user.pw_uid, primary.user.pw_gid)
    link = HoldingProxy(primary_port)
    await link.start()
    source = f"host=127.0.0.1 port={link.port} user={SUPERUSER}"
    source += f" application_name={STANDBY_NAME}"
    await asyncio.to_thread(
        _checked, primary, "pg_basebackup", "-D", str(standby_dir), "-d", source,
        "-R", "-X", "stream", "-c", "fast",
    )  # fmt: skip
    standby = EmbeddedPostgres(standby_dir, tcp_port=free_port())
    await asyncio.to_thread(standby.start)
    LEAK_WATCH.log_files.append(standby.datadir / "server.log")
    cluster = ReplicatedPostgres(primary, standby, link)

    conn = await asyncpg.connect(primary.url)
    try:
        if synchronous:
            await conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
            await conn.execute("SELECT pg_reload_conf()")
        wanted = "sync" if synchronous else "async"

        async def streaming() -> bool:
            state = await conn.fetchval(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1",
                STANDBY_NAME,
            )
            return bool(state == wanted)

        await eventually(streaming, what=f"the standby streams, {wanted}")
    finally:
        await conn.close()
    return cluster
