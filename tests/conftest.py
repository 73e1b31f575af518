"""Test harness.

PostgreSQL: ``TEST_DATABASE_URL`` when set, else a private server started for the
session. Every test that needs a database gets a fresh one, made from a migrated
template. Databases are kept until the end of the session, when the leak check
(``tests/functional/test_no_leaks.py``) searches them and every log for the
secret material that the tests registered in :data:`LEAK_WATCH`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from services.common.embedded_postgres import EmbeddedPostgres
from services.common.logging import configure_logging
from services.common.migrations import migrate
from services.common.settings import Settings, load_settings
from tests.support import BIN, LEAK_WATCH, free_port, wait_for_http, with_database


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_all`` run last: they inspect what the others left."""
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_all: run after every other test")


@dataclass(frozen=True)
class PostgresServer:
    admin_url: str
    template: str
    log_file: Path | None


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="burnafter-tests-"))
    folder.chmod(0o755)  # the private PostgreSQL runs as another user when we are root
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def test_log(session_dir: Path) -> Path:
    """Logs of the in-process services, as JSON lines, for the leak check."""
    path = session_dir / "in-process.log"
    configure_logging("json", "INFO", stream=path.open("a", buffering=1, encoding="utf-8"))
    LEAK_WATCH.log_files.append(path)
    return path


@pytest.fixture(scope="session")
def postgres(session_dir: Path) -> Iterator[PostgresServer]:
    external = os.environ.get("TEST_DATABASE_URL")
    server: EmbeddedPostgres | None = None
    if external:
        admin_url = external
    else:
        server = EmbeddedPostgres(session_dir / "postgres", durable=False)
        admin_url = server.start()
        LEAK_WATCH.log_files.append(server.datadir / "server.log")
    template = f"burnafter_tpl_{os.getpid()}"

    async def make_template() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {template}")
            await conn.execute(f"CREATE DATABASE {template}")
        finally:
            await conn.close()
        conn = await asyncpg.connect(with_database(admin_url, template))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(make_template())
    yield PostgresServer(admin_url, template, server.datadir / "server.log" if server else None)

    async def drop_all() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            for url in [*LEAK_WATCH.database_urls, with_database(admin_url, template)]:
                name = urlsplit(url).path.lstrip("/")
                await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()

    asyncio.run(drop_all())
    if server is not None:
        server.stop("immediate")


async def create_database(postgres: PostgresServer, *, migrated: bool = True) -> str:
    """A new database, migrated (from the template) or empty; dropped after the session."""
    name = f"burnafter_t_{secrets.token_hex(6)}"
    template = f" TEMPLATE {postgres.template}" if migrated else ""
    conn = await asyncpg.connect(postgres.admin_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}{template}")
    finally:
        await conn.close()
    url = with_database(postgres.admin_url, name)
    LEAK_WATCH.database_urls.append(url)
    return url


@pytest.fixture
async def database_url(postgres: PostgresServer) -> str:
    """A fresh, migrated database for this test."""
    return await create_database(postgres)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection, for the test to inspect or arrange rows."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def make_settings(database_url: str, **env: str) -> Settings:
    """Settings for an in-process app: no metrics port and no rate limits unless a
    test asks for them."""
    base = {
        "DATABASE_URL": database_url,
        "HTTP_HOST": "127.0.0.1",
        "METRICS_PORT": "0",
        "RATE_LIMIT_CREATE": "0",
        "RATE_LIMIT_PEEK": "0",
        "RATE_LIMIT_REVEAL": "0",
    }
    return load_settings({**base, **env})


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def api(aiohttp_client, settings: Settings):
    """The api app in this process, over real HTTP on loopback."""
    from services.api.app import create_app

    return await aiohttp_client(create_app(settings))


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    metrics_port: int

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Wait until ``url``/readyz (or ``url`` itself, when it is a metrics URL) answers 200."""
    probe = url if url.endswith("/metrics") else f"{url}/readyz"
    wait_for_http(probe, process, timeout)


@pytest.fixture
def start_service(session_dir: Path) -> Iterator[object]:
    """Start ``burnafter ROLE`` as a real process; every process is stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(role: str, database_url: str, port: int | None = None, **env: str) -> ServiceProcess:
        port = port or free_port()
        # One file per process: ports are reused within a session, processes are not.
        log = session_dir / f"{role}-{port}-{secrets.token_hex(4)}.log"
        LEAK_WATCH.log_files.append(log)
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": database_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "LOG_FORMAT": "json",
            "METRICS_PORT": str(free_port()),
            **env,
        }
        with log.open("xb") as out:
            process = subprocess.Popen(
                [str(BIN / "burnafter"), role], env=environment, stdout=out, stderr=out
            )
        service = ServiceProcess(
            process, f"http://127.0.0.1:{port}", log, int(environment["METRICS_PORT"])
        )
        started.append(service)
        if role in ("api", "web"):
            wait_ready(service.url, process)
        elif role == "reaper":
            wait_ready(service.metrics_url, process)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def base_url(api) -> str:
    return str(api.make_url("")).rstrip("/")
