"""``API_WORKERS`` / ``WEB_WORKERS``: several processes on one port, their metrics
gathered by the supervisor with a ``worker`` label, all of them drained on SIGTERM,
and none left behind when one dies."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fixtures_types import StartService
from tests.support.sealing import make_secret
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually


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
