"""Webhook delivery from the PostgreSQL outbox (``webhook_deliveries``).

The rows are written by a trigger in the same transaction as the event they tell
of (migration 0005); their SQL is in services/store/webhooks.py. A dispatcher
takes due rows with ``FOR UPDATE SKIP LOCKED`` and keeps them locked while it posts
them, so several dispatchers never send one row twice; a row is marked delivered
in that same transaction once the endpoint answered 2xx, and is retried with
exponential backoff otherwise.

Each request is signed: ``X-Burnafter-Signature: v1=<hex HMAC-SHA256(secret,
"<X-Burnafter-Timestamp>." + body)>``. The payload names the secret by its audit
reference, the event, the time and the sender; never content, label or id. URLs
are never logged (a Slack URL is itself a credential)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import asyncpg
import structlog

from services.server.audit import Auditor
from services.server.metrics import WebhookMetrics
from services.server.settings import Settings, Webhook
from services.store import webhooks as outbox
from services.store.vocabulary import REQUEST_ANSWERED, WEBHOOK_EVENTS, EventKind
from services.worker.rounds import backoff, run_rounds

log = structlog.get_logger("burnafter.webhooks")

BATCH = 20
_EVENT_TEXT = {
    WEBHOOK_EVENTS[EventKind.VIEWED]: "was viewed",
    WEBHOOK_EVENTS[EventKind.EXPIRED]: "expired unopened",
    WEBHOOK_EVENTS[EventKind.BURNED]: "was destroyed after too many wrong passphrases",
    WEBHOOK_EVENTS[EventKind.REVOKED]: "was revoked",
    WEBHOOK_EVENTS[EventKind.DELETED]: "was deleted by its recipient",
    REQUEST_ANSWERED: "was answered",
}


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """What ``X-Burnafter-Signature`` carries; receivers compute the same and
    compare in constant time (docs/webhooks.md)."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass(frozen=True)
class Share:
    """Which link of a share of several recipients an event is about: the share's
    reference (as ``secret_ref`` is the link's) and the recipient's number, never its
    name, which the server cannot read."""

    ref: str
    recipient: int


def payload(
    hook: Webhook,
    delivery: int,
    event: str,
    ref: str,
    at: datetime,
    sender: str | None,
    share: Share | None = None,
) -> bytes:
    stamp = at.isoformat().replace("+00:00", "Z")
    if hook.format == "slack":
        who = f" (shared by {sender})" if sender else ""
        whom = f" for recipient {share.recipient + 1} of share {share.ref}" if share else ""
        what = "request" if event == REQUEST_ANSWERED else "secret"
        text = f"burnafter: {what} {ref}{whom}{who} {_EVENT_TEXT.get(event, event)} at {stamp}."
        return json.dumps({"text": text}).encode()
    body: dict[str, object] = {
        "delivery": delivery,
        "event": event,
        "secret_ref": ref,
        "occurred_at": stamp,
        "sender": sender,
    }
    if share is not None:
        body |= {"share_ref": share.ref, "recipient": share.recipient}
    return json.dumps(body).encode()


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        metrics: WebhookMetrics,
        session: aiohttp.ClientSession,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.metrics = metrics
        self.session = session
        self.hooks = {hook.name: hook for hook in settings.webhooks}
        self.auditor = Auditor(settings.audit_key, "reaper")

    async def _post(self, hook: Webhook, row: outbox.Delivery) -> int | None:
        """The endpoint's HTTP status, or None when it could not be reached."""
        share = None
        if row.share_id is not None and row.recipient is not None:
            share = Share(self.auditor.ref(row.share_id), row.recipient)
        body = payload(
            hook,
            row.id,
            row.event,
            self.auditor.ref(row.secret_id),
            row.occurred_at,
            row.sender,
            share,
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "burnafter-webhooks",
            "X-Burnafter-Event": row.event,
            "X-Burnafter-Delivery": str(row.id),
            "X-Burnafter-Timestamp": timestamp,
            "X-Burnafter-Signature": signature(hook.secret, timestamp, body),
        }
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout)
        try:
            async with self.session.post(
                hook.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def _send(self, row: outbox.Delivery) -> int | None:
        hook = self.hooks.get(row.endpoint)
        return None if hook is None else await self._post(hook, row)

    async def _record(
        self, conn: asyncpg.Connection, row: outbox.Delivery, status: int | None
    ) -> None:
        if status is not None and 200 <= status < 300:
            await outbox.mark_delivered(conn, row, status)
            outcome = "delivered"
        else:
            unknown = row.endpoint not in self.hooks  # taken out of WEBHOOKS since
            gave_up = unknown or row.attempts + 1 >= self.settings.webhook_max_attempts
            await outbox.mark_failed(
                conn,
                row,
                status,
                backoff(self.settings, row.attempts),
                self.settings.webhook_max_attempts,
                unknown,
            )
            outcome = "gave_up" if gave_up else "retry"
        self.metrics.deliveries.labels(endpoint=row.endpoint, outcome=outcome).inc()
        log.info(
            "webhook_delivery",
            endpoint=row.endpoint,
            webhook_event=row.event,
            delivery=row.id,
            status=status,
            outcome=outcome,
        )

    async def run_once(self) -> int:
        """Take one batch of due deliveries, post them all at once, and record each
        answer before the batch's transaction commits; return how many were taken."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await outbox.take_due(conn, BATCH)
            statuses = await asyncio.gather(*(self._send(row) for row in rows))
            for row, status in zip(rows, statuses, strict=True):
                await self._record(conn, row, status)
        queue = await outbox.queue(self.pool)
        self.metrics.queue_depth.set(queue.depth)
        self.metrics.oldest_age.set(queue.oldest_age)
        return len(rows)

    async def run_until(self, stop: asyncio.Event) -> None:
        await run_rounds(stop, self.run_once, BATCH, self.settings.webhook_interval, "webhook")
