"""Run modes: ``burnafter dev`` (what ``make run`` runs) with its embedded PostgreSQL,
and the api as its own process behind a trusted proxy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

from services.dev.embedded_postgres import EmbeddedPostgres
from tests.support.cli import BIN, cli, run_cli, watch_cli_links
from tests.support.fixtures_types import AiohttpClient, StartService
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import make_secret, secret_text
from tests.support.services import make_settings, wait_ready
from tools.net import free_port


def test_dev_mode_serves_api_and_page_with_an_embedded_postgres(session_dir: Path) -> None:
    checkout = session_dir / "dev-checkout"  # reachable by the user the server runs as
    checkout.mkdir()
    port = free_port()
    log = checkout / "dev.log"
    LEAK_WATCH.log_files.append(log)
    env = {
        "PATH": os.environ["PATH"],
        "HTTP_PORT": str(port),
        "METRICS_PORT": str(free_port()),
        "REAPER_INTERVAL": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "burnafter"), "dev"], cwd=checkout, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    datadir = checkout / ".data" / "postgres"
    try:
        wait_ready(base, process, 60)
        text = secret_text()
        sent = run_cli("send", "--server", base, stdin=text.encode())
        assert sent.returncode == 0, sent.stderr
        share, _ = watch_cli_links(sent.stdout, sent.stderr)
        assert run_cli("open", str(share)).stdout == text.encode() + b"\n"
        with urllib.request.urlopen(base + "/") as page:  # noqa: S310
            assert page.status == 200
            assert b"burnafter" in page.read()
        assert EmbeddedPostgres(datadir).running()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0
    assert (datadir / "PG_VERSION").exists()
    assert not EmbeddedPostgres(datadir).running()


async def test_forwarded_for_counts_only_from_a_trusted_proxy(
    aiohttp_client: AiohttpClient, database_url: str, test_log: Path
) -> None:
    from services.api.app import create_app

    async def first_event_address(trusted: str) -> str | None:
        settings = make_settings(
            database_url, TRUSTED_PROXIES=trusted, CLIENT_ADDRESS_POLICY="full"
        )
        client = await aiohttp_client(create_app(settings))
        secret = make_secret()
        headers = {"X-Forwarded-For": "198.51.100.23"}
        created = await client.post("/api/v1/secrets", json=secret.body, headers=headers)
        secret_id = (await created.json())["id"]
        receipt = await client.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)
        return str((await receipt.json())["events"][0]["client_address"])

    assert await first_event_address("127.0.0.1/32") == "198.51.100.23"
    assert await first_event_address("10.0.0.0/8") == "127.0.0.1"


async def test_api_process_exits_cleanly_on_sigterm(
    database_url: str, start_service: StartService
) -> None:
    api = start_service("api", database_url)
    assert await asyncio.to_thread(api.stop) == 0


async def test_probe_command_answers_for_container_healthchecks(
    database_url: str, start_service: StartService
) -> None:
    api = start_service("api", database_url)
    assert (await cli("probe", f"{api.url}/readyz")).returncode == 0
    assert (await cli("probe", f"{api.url}/nowhere")).returncode == 1
    api.stop()
    assert (await cli("probe", f"{api.url}/readyz")).returncode == 1
