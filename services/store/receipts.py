"""The sender's side of a share: its receipt, and revoking its links.

A share is what one create made: one link (a ``secrets`` row) per recipient, each
with a ``receipts`` row of its own (state, views, events), all under the one
receipt key of the share. A link made alone is a share of one, its receipts row
its own (``share_id`` NULL); a share of recipients numbers them from 0, every row
holding the first link's id as ``share_id``, which is the share's id and its
receipt link's (docs/architecture.md, "Several recipients").

Lock order is the store's (``services/store/secrets.py``): a revoke deletes every
link it ends first, in id order, then writes their receipts, then releases the
content once, so it never holds a content's lock while it waits for a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.store.errors import ReceiptNotFound, RecipientNotFound, SecretAlreadyEnded
from services.store.secrets import Access, proof_matches
from services.store.vocabulary import EventKind, ReceiptState


@dataclass(frozen=True)
class AccessEvent:
    at: datetime
    event: EventKind
    client_address: str | None
    user_agent: str | None
    recipient: int  # which link of the share; 0 for a link made alone


@dataclass(frozen=True)
class Notification:
    endpoint: str
    event: str
    state: str  # pending, delivered or failed (given up)
    attempts: int
    occurred_at: datetime
    delivered_at: datetime | None
    recipient: int


@dataclass(frozen=True)
class RecipientLine:
    """One link of a share, as its sender sees it."""

    recipient: int
    id: str
    name: bytes | None  # sealed under the receipt key (docs/protocol.md); never read here
    state: ReceiptState
    views: int
    max_views: int
    failed_attempts: int
    passphrase: bool
    ended_at: datetime | None


@dataclass(frozen=True)
class Receipt:
    """A share's receipt: the share as a whole (active while any link is; views and
    failed attempts summed), then each link on its own line."""

    id: str
    state: ReceiptState
    label: bytes | None
    max_views: int
    views: int
    max_attempts: int
    failed_attempts: int
    passphrase: bool
    recipient_may_delete: bool
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    events: tuple[AccessEvent, ...]
    notify: tuple[str, ...]
    notifications: tuple[Notification, ...]
    recipients: tuple[RecipientLine, ...]


_READ_MANAGE_VERIFIER = """
SELECT r.manage_verifier FROM burnafter_share_receipts_v1($1) AS r
ORDER BY r.recipient NULLS FIRST LIMIT 1
"""
_READ_LINES = """
SELECT r.id, r.manage_verifier, r.label, r.max_views, r.views, r.max_attempts,
       r.failed_attempts, r.passphrase, r.recipient_may_delete, r.created_at, r.expires_at,
       r.ended_at, r.notify, coalesce(r.recipient, 0) AS recipient, r.recipient_name,
       CASE WHEN r.state = 'active' AND r.expires_at <= now()
            THEN 'expired' ELSE r.state END AS state
FROM burnafter_share_receipts_v1($1) AS r
ORDER BY r.recipient NULLS FIRST
"""
_READ_EVENTS = """
SELECT e.at, e.event, e.client_address, e.user_agent, coalesce(r.recipient, 0) AS recipient
FROM burnafter_share_receipts_v1($1) AS r JOIN access_events AS e ON e.secret_id = r.id
ORDER BY e.seq
"""
_READ_NOTIFICATIONS = """
SELECT w.endpoint, w.event, w.attempts, w.occurred_at, w.delivered_at,
       coalesce(r.recipient, 0) AS recipient,
       CASE WHEN w.delivered_at IS NOT NULL THEN 'delivered'
            WHEN w.gave_up_at IS NOT NULL THEN 'failed'
            ELSE 'pending' END AS state
FROM burnafter_share_receipts_v1($1) AS r
JOIN webhook_deliveries AS w ON w.secret_id = r.id
ORDER BY w.id
"""


async def read_receipt(pool: asyncpg.Pool, share_id: str, manage: bytes) -> Receipt:
    """The sender's view of a share. An expired link reads as expired before the
    reaper has deleted it."""
    async with pool.acquire() as conn:
        # The proof first, on one row: a wrong token costs the same for any share.
        if not proof_matches(manage, await conn.fetchval(_READ_MANAGE_VERIFIER, share_id)):
            raise ReceiptNotFound
        rows = await conn.fetch(_READ_LINES, share_id)
        if not rows:  # purged since the proof was checked
            raise ReceiptNotFound
        first = rows[0]
        events = await conn.fetch(_READ_EVENTS, share_id)
        notifications = await conn.fetch(_READ_NOTIFICATIONS, share_id)
    lines = tuple(
        RecipientLine(
            recipient=row["recipient"],
            id=row["id"],
            name=row["recipient_name"],
            state=ReceiptState(row["state"]),
            views=row["views"],
            max_views=row["max_views"],
            failed_attempts=row["failed_attempts"],
            passphrase=row["passphrase"],
            ended_at=row["ended_at"],
        )
        for row in rows
    )
    state, ended_at = _share_state(rows)
    return Receipt(
        id=share_id,
        state=state,
        label=first["label"],
        max_views=sum(line.max_views for line in lines),
        views=sum(line.views for line in lines),
        max_attempts=first["max_attempts"],
        failed_attempts=sum(line.failed_attempts for line in lines),
        passphrase=any(line.passphrase for line in lines),
        recipient_may_delete=first["recipient_may_delete"],
        created_at=first["created_at"],
        expires_at=first["expires_at"],
        ended_at=ended_at,
        events=tuple(
            AccessEvent(**{**dict(event), "event": EventKind(event["event"])}) for event in events
        ),
        notify=tuple(first["notify"]),
        notifications=tuple(Notification(**dict(row)) for row in notifications),
        recipients=lines,
    )


def _share_state(rows: list[asyncpg.Record]) -> tuple[ReceiptState, datetime | None]:
    """Active while any link is; then the state of the link that ended last."""
    if any(row["state"] == ReceiptState.ACTIVE for row in rows):
        return ReceiptState.ACTIVE, None
    last = max(rows, key=lambda row: row["ended_at"] or row["expires_at"])
    return ReceiptState(last["state"]), last["ended_at"]


_READ_MANAGED = """
SELECT r.id, coalesce(r.recipient, 0) AS recipient
FROM burnafter_share_receipts_v1($1) AS r
ORDER BY r.id
"""
_DELETE_LIVE_SECRET = """
DELETE FROM secrets WHERE id = $1 AND expires_at > now() RETURNING content_id
"""
_RECORD_REVOKE = """
WITH receipt AS (
    UPDATE receipts SET state = 'revoked', ended_at = now()
    WHERE id = ANY ($1::text[])
    RETURNING id
)
INSERT INTO access_events (secret_id, event, client_address, user_agent)
SELECT id, 'revoked', $2, $3 FROM receipt
"""
# After the receipts: lock order is secrets rows, receipts rows, contents row.
_RELEASE_CONTENT = "SELECT burnafter_release_content_v1($1)"
# No live link was deleted: still active means it expired and the reaper has not
# run yet. Of several, the one that ended last says.
_CURRENT_STATE = """
SELECT CASE WHEN state = 'active' THEN 'expired' ELSE state END
FROM receipts WHERE id = ANY ($1::text[])
ORDER BY coalesce(ended_at, expires_at) DESC
LIMIT 1
"""


async def revoke(
    pool: asyncpg.Pool,
    share_id: str,
    manage: bytes,
    access: Access,
    recipient: int | None = None,
) -> tuple[tuple[int, str], ...]:
    """End the share's links still live for its sender: every one, or only
    ``recipient``'s. Waits for a reveal holding a link's row lock. Answers the
    recipients revoked and their links' ids; raises SecretAlreadyEnded when none
    was live."""
    async with pool.acquire() as conn:
        if not proof_matches(manage, await conn.fetchval(_READ_MANAGE_VERIFIER, share_id)):
            raise ReceiptNotFound
        rows = await conn.fetch(_READ_MANAGED, share_id)
        targets = [row for row in rows if recipient is None or row["recipient"] == recipient]
        if not targets:
            raise RecipientNotFound
        async with conn.transaction():
            revoked, contents = [], set()
            for row in targets:  # in id order, as every path that locks several takes them
                deleted = await conn.fetchrow(_DELETE_LIVE_SECRET, row["id"])
                if deleted is not None:
                    revoked.append(row)
                    if deleted["content_id"] is not None:
                        contents.add(deleted["content_id"])
            if revoked:
                ids = [row["id"] for row in revoked]
                await conn.execute(_RECORD_REVOKE, ids, access.client_address, access.user_agent)
                for content_id in contents:
                    await conn.execute(_RELEASE_CONTENT, content_id)
                return tuple(sorted((row["recipient"], row["id"]) for row in revoked))
            state = await conn.fetchval(_CURRENT_STATE, [row["id"] for row in targets])
    if state is None:  # purged since the manage token was checked
        raise ReceiptNotFound
    raise SecretAlreadyEnded(ReceiptState(state))
