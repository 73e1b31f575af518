"""``API_WORKERS`` / ``WEB_WORKERS``: one role in several processes on one port.

The process the operator started becomes a supervisor. It starts that many copies
of its own command, the workers, which each bind ``HTTP_PORT`` with
``SO_REUSEPORT``: the kernel spreads new connections across them. It passes SIGTERM
and SIGINT on to them and waits for them all, each draining as a single process
would. If a worker exits on its own, it stops the others and exits 1, so that the
orchestrator starts the whole again. It serves ``METRICS_PORT`` itself: every
worker's metrics, read over an abstract Unix socket of that worker's, each series
with a ``worker`` label (``sum without (worker)`` gives the process-wide figure)."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import secrets
import signal
import sys
from collections.abc import Iterable, Iterator

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from services.server.metrics import metrics_runner
from services.server.settings import Settings

log = structlog.get_logger("burnafter.workers")

SCRAPE_TIMEOUT = 5.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The environment variable that tells a worker its supervisor's pid.
SUPERVISOR = "BURNAFTER_SUPERVISOR_PID"


def _metrics_socket(run: str, index: int) -> str:
    """The name of a worker's abstract Unix socket (Linux: an address that starts
    with NUL, given without it on a command line). It needs no writable folder, and
    goes with the process. ``run`` is random per supervisor: in a container every
    supervisor is PID 1, and two may share a network namespace (a pod's)."""
    return f"burnafter-{run}-worker-{index}"


class _Families:
    """What :func:`generate_latest` reads: a registry of families already made."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


async def _scrape(socket: str) -> str:
    timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT)
    connector = aiohttp.UnixConnector(path="\0" + socket)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.get("http://worker/metrics") as response,
    ):
        response.raise_for_status()
        return await response.text()


async def merged_metrics(sockets: list[str]) -> bytes:
    """Every worker's series, labelled with its number; a worker that does not answer
    (starting, or gone) is left out of this scrape."""
    texts = await asyncio.gather(*(_scrape(socket) for socket in sockets), return_exceptions=True)
    families: dict[str, Metric] = {}
    for index, text in enumerate(texts):
        try:
            if isinstance(text, BaseException):
                raise text
            read = list(text_string_to_metric_families(text))
        except (OSError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("worker_metrics_unread", worker=index, error=type(exc).__name__)
            continue
        worker = {"worker": str(index)}
        for family in read:
            merged = families.setdefault(
                family.name, Metric(family.name, family.documentation, family.type, family.unit)
            )
            merged.samples += [s._replace(labels={**s.labels, **worker}) for s in family.samples]
    return generate_latest(_Families(families.values()))


def die_with_the_supervisor() -> None:
    """Called by each worker as it starts: SIGTERM when the supervisor dies, however
    it dies (Linux's PR_SET_PDEATHSIG), so no worker goes on serving the port alone.
    (In the worker rather than between fork and exec: asyncio's child watcher runs a
    thread, and code there is unsafe beside one.) A supervisor that died before this
    call sends nothing: then its worker's parent is another process, and it exits."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(os.environ.get(SUPERVISOR, "0")):
        sys.exit("burnafter: the supervisor that started this worker is gone")


async def supervise(command: list[str], count: int, settings: Settings) -> int:
    """Run ``count`` workers, each ``command`` followed by its metrics socket, until
    SIGTERM/SIGINT or until one exits on its own; answer the exit code. The signals
    are handled before the first worker starts, so a SIGTERM during start-up stops
    them all; a worker that SIGTERM ended before it could drain stopped as asked."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    run = secrets.token_hex(8)
    sockets = [_metrics_socket(run, index) for index in range(count)]
    workers: list[asyncio.subprocess.Process] = []
    env = {**os.environ, SUPERVISOR: str(os.getpid())}
    runner = None
    code = 0
    try:
        for socket in sockets:  # one by one: each started is stopped, whatever fails
            workers.append(await asyncio.create_subprocess_exec(*command, socket, env=env))  # noqa: PERF401
        log.info("workers_started", workers=count, pids=[worker.pid for worker in workers])
        if settings.metrics_port:
            runner = await metrics_runner(functools.partial(merged_metrics, sockets))
            await web.TCPSite(runner, settings.http_host, settings.metrics_port).start()
        exits = {asyncio.create_task(worker.wait()): index for index, worker in enumerate(workers)}
        told = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([told, *exits], return_when=asyncio.FIRST_COMPLETED)
        told.cancel()
        if told not in done:
            ended = next(task for task in done if task in exits)
            log.error("worker_exited", worker=exits[ended], code=ended.result())
            code = 1
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        codes = [await worker.wait() for worker in workers]
        if runner is not None:
            await runner.cleanup()
        log.info("workers_stopped", codes=codes)
    stopped = {0, -signal.SIGTERM}  # drained, or stopped before it could serve
    return code or (0 if set(codes) <= stopped else 1)
