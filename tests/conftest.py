"""Test harness.

PostgreSQL: ``TEST_DATABASE_URL`` when set, else a private server started for the
session. Every test that needs a database gets a fresh one, made from a migrated
template. Databases are kept until the end of the session, when the leak check
(:func:`leak_check`) searches them and every log and metrics scrape for the secret
material that the tests registered in :data:`LEAK_WATCH`; a find fails the run.

Under pytest-xdist each worker is a session of its own: its own folder, log, leak
watch, PostgreSQL server (or, with ``TEST_DATABASE_URL``, its own template database,
named after its pid) and its own leak check over its own material.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import urlsplit

import asyncpg
import pytest

from services.dev.embedded_postgres import EmbeddedPostgres
from services.server.log_setup import configure_logging
from services.server.settings import Settings
from services.store.migrations import migrate
from tests.support.cli import BIN
from tests.support.database import PostgresServer, create_database, with_database
from tests.support.fixtures_types import AiohttpClient, ApiClient, ClientWith, StartService
from tests.support.leaks import LEAK_WATCH, search_everything
from tests.support.loops import run_coroutine_in_a_thread
from tests.support.pgbouncer import PgBouncer, start_pgbouncer
from tests.support.services import ServiceProcess, make_settings, start_service_process

T = TypeVar("T")


# The slowest folders first: pytest-xdist hands tests out in this order, so the
# workers finish together on the many short unit tests instead of one of them
# finishing alone on browser tests.
FOLDER_ORDER = {"browser": 0, "functional": 1}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_all`` are collected last: they inspect what the others left
    (under xdist, what their worker's tests left; every worker checks its own material
    at the end of its session anyway)."""

    def order(item: pytest.Item) -> tuple[bool, int]:
        folder = item.path.parent.name
        return item.get_closest_marker("after_all") is not None, FOLDER_ORDER.get(folder, 2)

    items.sort(key=order)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_all: run after the other tests (of its worker)")


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"burnafter-tests-{worker}-"))
    folder.chmod(0o755)  # the private PostgreSQL runs as another user when we are root
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def leak_check(session_dir: Path) -> Iterator[list[Callable[[], None]]]:
    """At the end of the session (of this xdist worker), after every test and its own
    fixtures are done: search every log, metrics scrape and database the tests
    registered in :data:`LEAK_WATCH` for the secret material they registered; any find
    fails the run (as an error in the teardown of the session's last test). Then run
    the cleanups the session's resources registered (drop the databases, stop the
    server): they must outlive the search, so they are not done by their own fixtures."""
    cleanups: list[Callable[[], None]] = []
    yield cleanups
    try:
        if LEAK_WATCH.needles or LEAK_WATCH.secret_ids or LEAK_WATCH.ciphertexts:
            report = run_coroutine_in_a_thread(lambda: search_everything(LEAK_WATCH))
            worker = os.environ.get("PYTEST_XDIST_WORKER", "the session")
            assert report.leaks == {}, (
                f"leak check at the end of {worker}: secret material found in {report.leaks}"
            )
    finally:
        for cleanup in reversed(cleanups):
            cleanup()


@pytest.fixture(scope="session")
def test_log(session_dir: Path) -> Path:
    """Logs of the in-process services, as JSON lines, for the leak check."""
    path = session_dir / "in-process.log"
    configure_logging("json", "INFO", stream=path.open("a", buffering=1, encoding="utf-8"))
    LEAK_WATCH.log_files.append(path)
    return path


@pytest.fixture(scope="session")
def postgres(session_dir: Path, leak_check: list[Callable[[], None]]) -> PostgresServer:
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

    async def drop_all() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            for url in [*LEAK_WATCH.database_urls, with_database(admin_url, template)]:
                name = urlsplit(url).path.lstrip("/")
                await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()

    def clean_up() -> None:
        # A private server goes with its folder (session_dir); databases on an
        # external server are dropped one by one.
        if server is not None:
            server.stop("immediate")
        else:
            run_coroutine_in_a_thread(drop_all)

    # Done by the leak check's fixture, after it searched the databases.
    leak_check.append(clean_up)
    run_coroutine_in_a_thread(make_template)
    return PostgresServer(admin_url, template, server.datadir / "server.log" if server else None)


@pytest.fixture(scope="session")
def pgbouncer(
    session_dir: Path, postgres: PostgresServer, leak_check: list[Callable[[], None]]
) -> PgBouncer:
    """PgBouncer in transaction mode in front of the session's PostgreSQL (started on
    first use; stopped before the server)."""
    bouncer = start_pgbouncer(session_dir / "pgbouncer", postgres.admin_url)
    LEAK_WATCH.log_files.append(bouncer.log)
    leak_check.append(bouncer.stop)
    return bouncer


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


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, settings: Settings) -> ApiClient:
    """The api app in this process, over real HTTP on loopback."""
    from services.api.app import create_app

    return await aiohttp_client(create_app(settings))


@pytest.fixture
def api_with(aiohttp_client: AiohttpClient, database_url: str, test_log: Path) -> ClientWith:
    """Make an api app in this process with settings of the test's choosing."""

    async def make(**env: str) -> ApiClient:
        from services.api.app import create_app

        return await aiohttp_client(create_app(make_settings(database_url, **env)))

    return make


@pytest.fixture
def admin_site(aiohttp_client: AiohttpClient, database_url: str, test_log: Path) -> ClientWith:
    """Make the app ``make run`` serves (pages, admin, api) with settings of the
    test's choosing."""

    async def make(**env: str) -> ApiClient:
        from services.dev.app import build_app

        return await aiohttp_client(build_app(make_settings(database_url, **env)))

    return make


@pytest.fixture
def start_service(session_dir: Path) -> Iterator[StartService]:
    """Start ``burnafter ROLE`` as a real process; every process is stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(role: str, database_url: str, port: int | None = None, **env: str) -> ServiceProcess:
        service = start_service_process(BIN, session_dir, role, database_url, port, env)
        started.append(service)
        return service

    # The overloads of StartService tell callers what they may pass; mypy does not match
    # a function with a defaulted ``port`` to them.
    yield cast(StartService, start)
    for service in started:
        service.stop()


@pytest.fixture(params=["direct", "through PgBouncer"])
def two_apis(
    request: pytest.FixtureRequest, database_url: str, start_service: StartService
) -> list[ServiceProcess]:
    """Two ``burnafter api`` processes on the test's database, for races across
    processes: straight to PostgreSQL, then through PgBouncer in transaction mode (as
    docs/operations.md says to run it: no statement cache). A test module gives their
    environment as ``TWO_APIS_ENV``."""
    env: dict[str, str] = getattr(request.module, "TWO_APIS_ENV", {})
    if request.param == "through PgBouncer":
        bouncer: PgBouncer = request.getfixturevalue("pgbouncer")
        database_url = bouncer.url_for(database_url)
        env = {**env, "DB_STATEMENT_CACHE_SIZE": "0"}
    return [start_service("api", database_url, **env) for _ in range(2)]


@pytest.fixture
def base_url(api: ApiClient) -> str:
    return str(api.make_url("")).rstrip("/")
