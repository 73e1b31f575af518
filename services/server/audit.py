"""The audit log: one JSON line per lifecycle event, schema in docs/audit-log.md.

A secret appears only as ``secret_ref``, a keyed hash (HMAC-SHA256 with
``AUDIT_KEY``) of its id: lines about one secret can be joined, but the id, which
would let a reader find the row, is never written."""

from __future__ import annotations

import hmac

import structlog

from services.server.log_setup import REQUEST_ID
from services.store.secrets import Access

log = structlog.get_logger("burnafter.audit")

REF_HEX_CHARS = 16


class Auditor:
    def __init__(self, key: bytes, service: str) -> None:
        self._key = key
        self.service = service

    def ref(self, secret_id: str) -> str:
        digest = hmac.digest(self._key, secret_id.encode(), "sha256").hex()
        return digest[:REF_HEX_CHARS]

    def record(
        self,
        event: str,
        *,
        outcome: str,
        secret_id: str | None = None,
        access: Access | None = None,
        actor: str | None = None,
        **details: int | str | None,
    ) -> None:
        """Write one audit line; the request id comes from the request's context."""
        log.info(
            event,
            audit=True,
            service=self.service,
            secret_ref=None if secret_id is None else self.ref(secret_id),
            actor=actor,
            client_address=None if access is None else access.client_address,
            user_agent=None if access is None else access.user_agent,
            outcome=outcome,
            request_id=REQUEST_ID.get(),
            **details,
        )
