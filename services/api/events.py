"""The api's lifecycle events: each one moves its counter and writes its audit line,
here and nowhere else, so metrics and the audit log cannot drift apart."""

from __future__ import annotations

from services.server.audit import Auditor
from services.server.metrics import SecretMetrics
from services.store.contents import RevealedContent
from services.store.secrets import Access, Refused, Revealed
from services.store.vocabulary import EventKind, RevealOutcome


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
        recipient: int = 0,
    ) -> None:
        """One link made; a share of several recipients makes one per recipient, its
        number audited (never its name), its content's bytes counted once."""
        self.metrics.created.inc()
        if recipient == 0:
            self.metrics.ciphertext_bytes.observe(ciphertext_bytes)
        self.auditor.record(
            EventKind.CREATED.audit_name,
            outcome="ok",
            secret_id=secret_id,
            access=access,
            actor=actor,
            max_views=max_views,
            recipient=recipient,
        )

    def reveal(
        self, secret_id: str, result: Revealed | RevealedContent | Refused, access: Access
    ) -> None:
        """One reveal request, counted by its outcome. A view or an attempt spent is
        audited; not_found is not (it names no secret the caller has shown any right
        to), nor is passphrase_required (it spends nothing)."""
        self.metrics.reveals.labels(outcome=result.outcome).inc()
        if isinstance(result, Revealed | RevealedContent):
            self.auditor.record(
                EventKind.VIEWED.audit_name,
                outcome="ok",
                secret_id=secret_id,
                access=access,
                views_left=result.views_left,
            )
        elif result.outcome is RevealOutcome.WRONG_PASSPHRASE:
            self._wrong_passphrase(secret_id, result.attempts_left, access)

    def _wrong_passphrase(self, secret_id: str, attempts_left: int | None, access: Access) -> None:
        self.metrics.unlock_failures.inc()
        self.auditor.record(
            EventKind.WRONG_PASSPHRASE.audit_name,
            outcome="denied",
            secret_id=secret_id,
            access=access,
            attempts_left=attempts_left,
        )
        if attempts_left == 0:
            self.metrics.locked.inc()  # burnafter_secrets_locked_total: named before "burned"
            self.auditor.record(
                EventKind.BURNED.audit_name, outcome="ok", secret_id=secret_id, access=access
            )

    def deleted_by_recipient(self, secret_id: str, refused: Refused | None, access: Access) -> None:
        """A recipient's delete: audited when done, or when it spent an attempt."""
        if refused is None:
            self.metrics.deleted.inc()
            self.auditor.record(
                EventKind.DELETED.audit_name, outcome="ok", secret_id=secret_id, access=access
            )
        elif refused.outcome is RevealOutcome.WRONG_PASSPHRASE:
            self._wrong_passphrase(secret_id, refused.attempts_left, access)

    def segments_up(self, count: int, sealed_bytes: int) -> None:
        self.metrics.segments.labels(direction="up").inc(count)
        self.metrics.segment_bytes.labels(direction="up").inc(sealed_bytes)

    def segments_down(self, count: int, sealed_bytes: int) -> None:
        self.metrics.segments.labels(direction="down").inc(count)
        self.metrics.segment_bytes.labels(direction="down").inc(sealed_bytes)

    def rate_limited(self, action: str) -> None:
        self.metrics.rate_limited.labels(action=action).inc()

    def storage_full(self, sender_quota: bool) -> None:
        self.metrics.storage_full.labels(limit="sender" if sender_quota else "all").inc()

    def stored(self, total_bytes: int) -> None:
        self.metrics.stored_bytes.set(total_bytes)

    def asked(self, request_id: str, access: Access, actor: str | None) -> None:
        """A request made: audited as a secret's events are, by the request's id."""
        self.auditor.record("request.created", outcome="ok", secret_id=request_id,
                            access=access, actor=actor)  # fmt: skip

    def request_opened(self, request_id: str, access: Access) -> None:
        """A fill link read: the responder saw the note."""
        self.auditor.record("request.opened", outcome="ok", secret_id=request_id, access=access)

    def answered(self, request_id: str, sealed_bytes: int, access: Access) -> None:
        """A request's one answer stored: a link, whose id is the request's."""
        self.metrics.created.inc()
        self.metrics.ciphertext_bytes.observe(sealed_bytes)
        self.auditor.record("request.answered", outcome="ok", secret_id=request_id,
                            access=access)  # fmt: skip

    def revoked(self, secret_id: str, access: Access, recipient: int = 0) -> None:
        self.metrics.revoked.inc()
        self.auditor.record(
            EventKind.REVOKED.audit_name,
            outcome="ok",
            secret_id=secret_id,
            access=access,
            recipient=recipient,
        )
