"""The words of burnafter: one per fact, stored in PostgreSQL, spoken by the code.

The SQL CHECK constraints hold the same values (tests/functional/test_store_vocabulary.py
reads them back). API v1 and its webhooks keep the words they were published with:
:meth:`ReceiptState.v1` and :meth:`EventKind.v1` are the one place that maps a stored
word to its v1 name (docs/architecture.md, "Vocabulary").
"""

from __future__ import annotations

from enum import StrEnum


class ReceiptState(StrEnum):
    """Where a secret's life stands, as its receipt shows it."""

    ACTIVE = "active"
    SPENT = "spent"  # every view was used
    EXPIRED = "expired"
    REVOKED = "revoked"
    BURNED = "burned"  # destroyed after too many wrong passphrases
    DELETED = "deleted"  # by its recipient, as its sender allowed

    def v1(self) -> str:
        return _V1_STATES.get(self, self.value)


class EventKind(StrEnum):
    """One row of ``access_events``: something that happened to a secret."""

    CREATED = "created"
    VIEWED = "viewed"  # one view spent
    WRONG_PASSPHRASE = "wrong_passphrase"  # one attempt spent
    BURNED = "burned"
    REVOKED = "revoked"
    EXPIRED = "expired"
    DELETED = "deleted"  # by its recipient

    def v1(self) -> str:
        return _V1_EVENTS.get(self, self.value)

    @property
    def audit_name(self) -> str:
        """The audit log's ``event`` field."""
        return f"secret.{self.value}"


class RevealOutcome(StrEnum):
    """What a reveal request comes to; also the ``outcome`` label of
    ``burnafter_secret_reveals_total``."""

    REVEALED = "revealed"
    NOT_FOUND = "not_found"
    PASSPHRASE_REQUIRED = "passphrase_required"
    WRONG_PASSPHRASE = "wrong_passphrase"


class DeleteOutcome(StrEnum):
    """What a recipient's delete comes to, beside the refusals it shares with a
    reveal (``burnafter_reveal_v6``)."""

    DELETED = "deleted"
    NOT_ALLOWED = "not_allowed"  # its sender did not allow it


class ContentState(StrEnum):
    """Where a protocol v2 content stands: its segments arriving, or revealable."""

    UPLOADING = "uploading"
    LIVE = "live"


class UploadOutcome(StrEnum):
    """What a segment's upload, or a finalize, comes to (``services/store/contents.py``)."""

    STORED = "stored"  # the segment is held (also when the same bytes come again)
    LIVE = "live"  # finalized: its links can be revealed
    INCOMPLETE = "incomplete"  # finalize before every segment arrived
    OUT_OF_ORDER = "out_of_order"  # an index past the upload window (received + UPLOAD_WINDOW)
    CONFLICT = "conflict"  # other bytes at an index already stored
    WRONG_SIZE = "wrong_size"
    BAD_INDEX = "bad_index"  # no such segment in the declared content
    NOT_FOUND = "not_found"  # unknown id, wrong upload token, not uploading, or too late


# API v1 was published with these words; clients and webhook receivers may match on
# them, so v1 keeps them (the stored word is the one on the left).
_V1_STATES = {ReceiptState.SPENT: "viewed", ReceiptState.BURNED: "locked"}
_V1_EVENTS = {EventKind.WRONG_PASSPHRASE: "unlock_failed", EventKind.BURNED: "locked"}

# The events a sender can be notified of, with their v1 webhook names. The outbox
# trigger (burnafter_enqueue_webhook_v2) writes these names; a test checks it.
WEBHOOK_EVENTS = {
    kind: f"secret.{kind.v1()}"
    for kind in (
        EventKind.VIEWED,
        EventKind.EXPIRED,
        EventKind.BURNED,
        EventKind.REVOKED,
        EventKind.DELETED,
    )
}
# Sent for a request whose answer can be collected (services/worker/notices.py); the
# answer's link has the request's id, so its secret_ref is the request's.
REQUEST_ANSWERED = "request.answered"
WEBHOOK_NAMES = frozenset({*WEBHOOK_EVENTS.values(), REQUEST_ANSWERED})


def parse_event(word: str) -> EventKind | None:
    """An event kind named by its word or by its v1 name (old links and bookmarks
    still filter); None for anything else."""
    for kind in EventKind:
        if word in (kind.value, kind.v1()):
            return kind
    return None
