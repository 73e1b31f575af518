"""``API_WORKERS`` / ``WEB_WORKERS``: several processes on one port, their metrics
gathered by the supervisor with a ``worker`` label, all of them drained on SIGTERM,
and none left behind when one dies."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import BIN
from tests.support.fixtures_types import StartService
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import make_secret
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually
from tools.net import free_port


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def _requests_by_worker(service: ServiceProcess, route: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(service.metrics_url) as response:
        text = await response.text()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "burnafter_http_requests_total" and sample.labels["route"] == route:
                worker = sample.labels["worker"]
                counts[worker] = counts.get(worker, 0) + sample.value
    return counts


async def test_two_api_workers_share_the_port_and_the_metrics_count_every_request(
    database_url: str, start_service: StartService
) -> None:
    api = start_service("api", database_url, API_WORKERS="2", RATE_LIMIT_CREATE="0")
    workers = _children(api.process.pid)
    assert len(workers) == 2
    creates = 60
    # A new connection each time: the kernel spreads connections, not requests.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(creates):
            async with http.post(f"{api.url}/api/v1/secrets", json=make_secret().body) as r:
                assert r.status == 201
    by_worker = await _requests_by_worker(api, "/api/v1/secrets")
    assert set(by_worker) == {"0", "1"}  # both served some
    assert sum(by_worker.values()) == creates
    assert all(count > 0 for count in by_worker.values())

    assert await asyncio.to_thread(api.stop) == 0
    assert not any(_alive(pid) for pid in workers)


async def test_a_worker_that_dies_takes_the_others_down_with_a_failure(
    database_url: str, start_service: StartService
) -> None:
    """Nothing half-alive: the orchestrator sees the pod fail and starts it again."""
    web = start_service("web", database_url, WEB_WORKERS="3")
    workers = _children(web.process.pid)
    assert len(workers) == 3
    os.kill(workers[1], signal.SIGKILL)
    await eventually(lambda: web.process.poll() is not None, what="the supervisor exits")
    assert web.process.returncode == 1
    assert not any(_alive(pid) for pid in workers)
    assert '"event":"worker_exited"' in web.log.read_text()


@pytest.mark.parametrize("when", ["starting", "serving"])
async def test_workers_never_outlive_their_supervisor(
    database_url: str, start_service: StartService, session_dir: Path, when: str
) -> None:
    """Killed outright (the OOM killer, SIGKILL), the supervisor cannot stop its
    workers: the kernel does (PR_SET_PDEATHSIG) once a worker asked it to, and a
    worker that starts after its supervisor died exits by itself."""
    if when == "serving":
        supervisor = start_service("api", database_url, API_WORKERS="2").process.pid
    else:
        supervisor = (await _start_two_workers(database_url, session_dir)).pid
    workers = await eventually(
        lambda: len(_children(supervisor)) == 2 and _children(supervisor),
        what="both workers started",
    )
    os.kill(supervisor, signal.SIGKILL)
    await eventually(lambda: not any(_alive(pid) for pid in workers), what="the workers end")


async def _start_two_workers(database_url: str, session_dir: Path) -> asyncio.subprocess.Process:
    """``burnafter api`` with two workers, not waited for."""
    env = {
        "PATH": os.environ["PATH"], "DATABASE_URL": database_url, "API_WORKERS": "2",
        "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(free_port()), "METRICS_PORT": "0",
    }  # fmt: skip
    log = session_dir / f"starting-{free_port()}.log"
    LEAK_WATCH.log_files.append(log)
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            str(BIN / "burnafter"), "api", env=env, stderr=out
        )


async def test_a_sigterm_while_the_workers_start_stops_them_all_cleanly(
    database_url: str, session_dir: Path
) -> None:
    supervisor = await _start_two_workers(database_url, session_dir)
    workers = await eventually(
        lambda: len(_children(supervisor.pid)) == 2 and _children(supervisor.pid),
        what="both workers started",
    )
    supervisor.send_signal(signal.SIGTERM)  # before they can be ready
    assert await asyncio.wait_for(supervisor.wait(), 30) == 0
    assert not any(_alive(pid) for pid in workers)
