"""The api's lifecycle events: each one moves its counter and writes its audit line,
here and nowhere else, so metrics and the audit log cannot drift apart."""

from __future__ import annotations

from aiohttp import web

from services.common.audit import Auditor
from services.common.metrics import SecretMetrics
from services.common.store import Access


class SecretEvents:
    def __init__(self, auditor: Auditor, metrics: SecretMetrics) -> None:
        self.auditor = auditor
        self.metrics = metrics

    def created(
        self,
        secret_id: str,
        ciphertext_bytes: int,
        max_views: int,
        access: Access,
        actor: str | None,
    ) -> None:
        self.metrics.created.inc()
        self.metrics.ciphertext_bytes.observe(ciphertext_bytes)
        self.auditor.record(
            "secret.created",
            outcome="ok",
            secret_id=secret_id,
            access=access,
            actor=actor,
            max_views=max_views,
        )

    def viewed(self, secret_id: str, views_left: int, access: Access) -> None:
        self.metrics.reveals.labels(outcome="revealed").inc()
        self.auditor.record(
            "secret.viewed", outcome="ok", secret_id=secret_id, access=access, views_left=views_left
        )

    def not_found(self) -> None:
        """Unknown id or wrong claim: counted, not audited (it names no secret we may log)."""
        self.metrics.reveals.labels(outcome="not_found").inc()

    def passphrase_required(self) -> None:
        self.metrics.reveals.labels(outcome="passphrase_required").inc()

    def unlock_failed(self, secret_id: str, attempts_left: int, access: Access) -> None:
        self.metrics.reveals.labels(outcome="wrong_passphrase").inc()
        self.metrics.unlock_failures.inc()
        self.auditor.record(
            "secret.unlock_failed",
            outcome="denied",
            secret_id=secret_id,
            access=access,
            attempts_left=attempts_left,
        )
        if attempts_left == 0:
            self.metrics.locked.inc()
            self.auditor.record("secret.locked", outcome="ok", secret_id=secret_id, access=access)

    def rate_limited(self, action: str) -> None:
        self.metrics.rate_limited.labels(action=action).inc()

    def storage_full(self) -> None:
        self.metrics.storage_full.inc()

    def stored(self, total_bytes: int) -> None:
        self.metrics.stored_bytes.set(total_bytes)

    def revoked(self, secret_id: str, access: Access) -> None:
        self.metrics.revoked.inc()
        self.auditor.record("secret.revoked", outcome="ok", secret_id=secret_id, access=access)


SECRET_EVENTS = web.AppKey("secret_events", SecretEvents)
