"""Prometheus metrics, ``burnafter_*``, served on each process's own port.

Each process builds one registry holding only the groups it uses, so a web
process never exports reaper gauges at zero. Labels are bounded (route template,
method, status class, outcome): never an id, a client address or a user agent."""

from __future__ import annotations

import asyncio
import importlib.metadata
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.server.appkeys import METRICS_SOCKET, POOL, REGISTRY, SETTINGS
from services.store.vocabulary import RevealOutcome

log = structlog.get_logger("burnafter.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SIZE_BUCKETS = (1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216)


def new_registry(service: str) -> CollectorRegistry:
    """A registry with ``burnafter_build_info`` for one service process."""
    registry = CollectorRegistry(auto_describe=True)
    info = Gauge(
        "burnafter_build_info",
        "Always 1; the labels say which build and service this is.",
        ["version", "service"],
        registry=registry,
    )
    info.labels(version=importlib.metadata.version("burnafter"), service=service).set(1)
    return registry


class _Declare:
    """Declares metrics on one registry, a call per metric. Labelled counters are
    created with each of their known label values, so they export 0 from the start."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def counter(
        self, name: str, doc: str, label: str | None = None, values: Iterable[str] = ()
    ) -> Counter:
        counter = Counter(name, doc, [label] if label else [], registry=self.registry)
        for value in values:
            counter.labels(value)
        return counter

    def gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(name, doc, registry=self.registry)

    def histogram(
        self, name: str, doc: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> Histogram:
        return Histogram(name, doc, list(labels), buckets=buckets, registry=self.registry)


HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}
)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        declare = _Declare(registry)
        self.requests = Counter(
            "burnafter_http_requests",
            "HTTP requests answered, by route template, method and status class.",
            ["route", "method", "status_class"],
            registry=registry,
        )
        self.latency = declare.histogram(
            "burnafter_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            LATENCY_BUCKETS,
            ["route", "method"],
        )
        self.in_flight = declare.gauge(
            "burnafter_http_requests_in_flight", "HTTP requests being answered now."
        )
        self.database_errors = declare.counter(
            "burnafter_database_errors",
            "Requests or passes that failed because the database could not be reached.",
        )

        self._answering = 0
        self.in_flight.set_function(lambda: self._answering)
        # Set while no request is being answered: a shutdown waits for it.
        self.idle = asyncio.Event()
        self.idle.set()

        # The series of each (route, method, status class), made once: labels() takes
        # a lock and builds its key on every call.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def started(self) -> None:
        self._answering += 1
        self.idle.clear()

    def finished(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request answered: counted by route template, method and status class,
        timed, and no longer in flight. A method outside HTTP's own is "other", so
        no client can make series."""
        if method not in HTTP_METHODS:
            method = "other"
        key = (route, method, status // 100)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(route, method, f"{status // 100}xx"),
                self.latency.labels(route, method),
            )
        series[0].inc()
        series[1].observe(seconds)
        if status == 503:
            self.database_errors.inc()
        self._answering -= 1
        if not self._answering:
            self.idle.set()


class SecretMetrics:
    """The api's share of the lifecycle."""

    def __init__(self, registry: CollectorRegistry) -> None:
        declare = _Declare(registry)
        self.created = declare.counter("burnafter_secrets_created", "Secrets stored.")
        self.ciphertext_bytes = declare.histogram(
            "burnafter_secret_ciphertext_bytes",
            "Size of each stored ciphertext (padded, so only coarse).",
            SIZE_BUCKETS,
        )
        self.reveals = declare.counter(
            "burnafter_secret_reveals", "Reveal requests, by outcome.", "outcome", RevealOutcome
        )
        self.unlock_failures = declare.counter(
            "burnafter_unlock_failures", "Wrong passphrases (each spends one attempt)."
        )
        self.locked = declare.counter(
            "burnafter_secrets_locked", "Secrets destroyed after too many wrong passphrases."
        )
        self.revoked = declare.counter(
            "burnafter_secrets_revoked", "Secrets revoked by their sender."
        )
        self.deleted = declare.counter(
            "burnafter_secrets_deleted", "Secrets deleted by their recipient, as allowed."
        )
        self.segments = declare.counter(
            "burnafter_segments",
            "Segments of protocol v2 contents received (up: segment 0 at create, and each "
            "upload) and sent (down: segment 0 at a reveal, and each download).",
            "direction",
            ("up", "down"),
        )
        self.segment_bytes = declare.counter(
            "burnafter_segment_bytes",
            "Sealed bytes of those segments.",
            "direction",
            ("up", "down"),
        )
        self.rate_limited = declare.counter(
            "burnafter_rate_limited",
            "Requests refused with 429, by action (create, peek, reveal, receipt).",
            "action",
            ("create", "peek", "reveal", "receipt"),
        )
        self.storage_full = declare.counter(
            "burnafter_storage_full",
            "Creates refused with 507, by the limit reached: the cap on all secrets' "
            "ciphertext (all) or one sender's quota (sender).",
            "limit",
            ("all", "sender"),
        )
        self.stored_bytes = declare.gauge(
            "burnafter_stored_ciphertext_bytes",
            "Ciphertext bytes of live secrets, as counted at this process's last create.",
        )


class ReaperMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        declare = _Declare(registry)
        self.expired = declare.counter(
            "burnafter_secrets_expired", "Expired secrets deleted by the reaper."
        )
        self.purged = declare.counter(
            "burnafter_receipts_purged", "Receipts deleted after their retention period."
        )
        self.passes = declare.counter(
            "burnafter_reaper_passes", "Reaper passes, by outcome.", "outcome", ("ok", "error")
        )
        self.pass_duration = declare.histogram(
            "burnafter_reaper_pass_duration_seconds",
            "Time a reaper pass took.",
            (*LATENCY_BUCKETS, 10.0, 30.0, 60.0),
        )
        self.backlog = declare.gauge(
            "burnafter_reaper_backlog_secrets",
            "Expired secrets not yet deleted, after the last pass.",
        )
        self.backlog_age = declare.gauge(
            "burnafter_reaper_backlog_oldest_age_seconds",
            "How long ago the oldest expired, not yet deleted secret expired (0 when none).",
        )
        self.last_success = declare.gauge(
            "burnafter_reaper_last_success_timestamp_seconds",
            "Unix time of the last pass that completed.",
        )
        self.uploads_reaped = declare.counter(
            "burnafter_uploads_reaped",
            "Uploads of large secrets deleted unfinished, past UPLOAD_SECONDS.",
        )
        self.uploads_in_progress = declare.gauge(
            "burnafter_uploads_in_progress",
            "Large secrets being uploaded (created, not yet finalized), after the last pass.",
        )
        self.stored = declare.gauge(
            "burnafter_storage_used_bytes",
            "Ciphertext bytes all live secrets hold, counted exactly by the last pass.",
        )
        self.cap = declare.gauge(
            "burnafter_storage_cap_bytes",
            "MAX_STORED_CIPHERTEXT_BYTES (0: no cap).",
        )


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        declare = _Declare(registry)
        self.deliveries = Counter(
            "burnafter_webhook_deliveries",
            "Webhook delivery attempts, by endpoint name and outcome (delivered, retry, gave_up).",
            ["endpoint", "outcome"],
            registry=registry,
        )
        self.queue_depth = declare.gauge(
            "burnafter_webhook_queue_depth",
            "Webhook deliveries not yet delivered nor given up, after the last round.",
        )
        self.oldest_age = declare.gauge(
            "burnafter_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when none).",
        )


class NoticeMetrics:
    """Telling askers their request was answered (services/worker/notices.py)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.answers = Counter(
            "burnafter_request_answers_noticed",
            "Answers to requests that became collectable and were noticed (their "
            "request.answered webhooks queued, their email due).",
            registry=registry,
        )
        self.emails = Counter(
            "burnafter_email_notices",
            "Email notices to askers, by outcome (sent, retry, gave_up).",
            ["outcome"],
            registry=registry,
        )


class PoolCollector(Collector):
    """Pool size and connections in use, read when scraped."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = self.pool.get_size()
        yield GaugeMetricFamily(
            "burnafter_db_pool_size", "Connections the pool holds now.", value=size
        )
        yield GaugeMetricFamily(
            "burnafter_db_pool_max_size",
            "Connections the pool may hold at most.",
            value=self.pool.get_max_size(),
        )
        yield GaugeMetricFamily(
            "burnafter_db_pool_in_use",
            "Connections checked out of the pool now.",
            value=size - self.pool.get_idle_size(),
        )


def watch_pool(registry: CollectorRegistry, pool: asyncpg.Pool) -> None:
    registry.register(PoolCollector(pool))


async def metrics_runner(render: Callable[[], Awaitable[bytes]]) -> web.AppRunner:
    """An app that answers ``GET /metrics`` with what ``render`` makes, set up, not
    yet bound to a port or socket."""

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=await render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    return runner


def _latest(registry: CollectorRegistry) -> Callable[[], Awaitable[bytes]]:
    async def render() -> bytes:
        return generate_latest(registry)

    return render


async def start_metrics_server(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    """Serve ``GET /metrics`` on its own port, apart from the public routes."""
    runner = await metrics_runner(_latest(registry))
    await web.TCPSite(runner, host, port).start()
    log.info("metrics_listening", port=port)
    return runner


async def start_worker_metrics(registry: CollectorRegistry, name: str) -> web.AppRunner:
    """A worker's ``GET /metrics``, on the abstract Unix socket ``name`` that its
    supervisor reads (services/server/workers.py). The socket is bound here: uvloop
    refuses an abstract address given as a path."""
    runner = await metrics_runner(_latest(registry))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name)
    await web.SockSite(runner, listener).start()
    return runner


async def metrics_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the metrics port for this process (``METRICS_PORT=0`` turns it off;
    a worker's supervisor serves it), and the pool gauges once the pool exists."""
    settings = app[SETTINGS]
    watch_pool(app[REGISTRY], app[POOL])
    runner = None
    if METRICS_SOCKET in app:
        runner = await start_worker_metrics(app[REGISTRY], app[METRICS_SOCKET])
    elif settings.metrics_port:
        runner = await start_metrics_server(
            app[REGISTRY], settings.http_host, settings.metrics_port
        )
    yield
    if runner is not None:
        await runner.cleanup()
