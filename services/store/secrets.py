"""The store: every SQL statement of burnafter, and the transactions around them.

Lock order is always ``secrets`` row first, then ``receipts`` row, then (for a
protocol v2 link) its ``contents`` row, so a reveal, a revoke and the reaper racing
for one secret can wait for each other but never deadlock; the paths that touch a
content alone (services/store/contents.py) lock nothing else. Expiry is checked in
each query, not left to the reaper.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import asyncpg

from services.protocol.envelope import verifier
from services.store.errors import (
    DeleteNotAllowed,
    SecretNotFound,
    SenderQuotaFull,
    StorageFull,
)
from services.store.vocabulary import DeleteOutcome, RevealOutcome


@dataclass(frozen=True)
class Access:
    """Who touched a secret, already reduced to what the address policy keeps."""

    client_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class NewSecret:
    id: str
    ciphertext: bytes
    claim_verifier: bytes
    unlock_verifier: bytes | None
    manage_verifier: bytes
    label: bytes | None
    max_views: int
    max_attempts: int
    expires_in: int
    creator: str | None = None  # the signed-in user or token that sent it
    notify: tuple[str, ...] = ()  # webhook endpoints to tell about its events
    recipient_may_delete: bool = False


@dataclass(frozen=True)
class Peek:
    passphrase_required: bool
    views_left: int
    expires_at: datetime
    version: int  # of the protocol its content was sealed with
    sealed_bytes: int  # what its ciphertext weighs, all segments together


@dataclass(frozen=True)
class Revealed:
    """A view spent: the ciphertext, and how many views are left after this one."""

    ciphertext: bytes
    views_left: int
    recipient_may_delete: bool
    outcome: ClassVar[RevealOutcome] = RevealOutcome.REVEALED


@dataclass(frozen=True)
class Refused:
    """A reveal that spent no view. ``attempts_left`` is set for the passphrase
    outcomes; after a wrong passphrase, 0 means the secret is now burned."""

    outcome: RevealOutcome
    attempts_left: int | None = None


# What a proof is compared with when no row has the id, so that an unknown id and a
# wrong proof cost the same work (review finding 1, docs/security.md).
_STAND_IN = bytes(32)


def proof_matches(proof: bytes, stored_verifier: bytes | None) -> bool:
    """In constant time, and with the same work whether a row was found or not."""
    same = hmac.compare_digest(verifier(proof), stored_verifier or _STAND_IN)
    return same and stored_verifier is not None


# Public, with REVEAL, for bench/pgbench_store.py, which runs them as they are.
CREATE = """
SELECT * FROM burnafter_create_secret_v2($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                                         $12, $13, $14, $15, $16, $17)
"""
_RECOUNT = "SELECT burnafter_recount_storage_v2()"


@dataclass(frozen=True)
class StorageLimits:
    """Bytes of ciphertext all secrets, and one sender's, may hold (0: no limit)."""

    cap: int = 0
    quota: int = 0


@dataclass(frozen=True)
class Created:
    expires_at: datetime
    stored_bytes: int | None  # all secrets' bytes, when they are counted


async def create_secret(
    pool: asyncpg.Pool,
    new: NewSecret,
    access: Access,
    limits: StorageLimits = StorageLimits(),  # frozen, so shared safely
    quota_key: str | None = None,  # needed with limits.quota
) -> Created:
    """Store a secret with its receipt and 'created' event, within the cap on all
    secrets' ciphertext and the quota of its sender (``quota_key``), exactly under
    concurrency (migrations 0006, 0007). Raises StorageFull or SenderQuotaFull."""
    row = await pool.fetchrow(
        CREATE,
        new.id,
        new.ciphertext,
        new.claim_verifier,
        new.unlock_verifier,
        new.max_views,
        new.max_attempts,
        new.expires_in,
        new.manage_verifier,
        new.label,
        access.client_address,
        access.user_agent,
        new.creator,
        list(new.notify),
        limits.cap,
        quota_key,
        limits.quota,
        new.recipient_may_delete,
    )
    if row["outcome"] == "storage_full":
        raise StorageFull
    if row["outcome"] == "quota_full":
        raise SenderQuotaFull
    return Created(row["expires_at"], row["stored_bytes"])


async def recount_storage(pool: asyncpg.Pool) -> int:
    """Count the bytes held again from the secrets and contents left, giving back those
    of ended secrets and deleted contents; return all the bytes held."""
    total: int = await pool.fetchval(_RECOUNT)
    return total


_PEEK = """
SELECT s.claim_verifier, s.unlock_verifier IS NOT NULL AS passphrase_required,
       s.views_left, s.expires_at,
       CASE WHEN s.content_id IS NULL THEN 1 ELSE 2 END AS version,
       coalesce(c.sealed_bytes, length(s.ciphertext)) AS sealed_bytes
FROM secrets AS s LEFT JOIN contents AS c ON c.id = s.content_id
WHERE s.id = $1 AND s.expires_at > now() AND (s.content_id IS NULL OR c.state = 'live')
"""


async def peek(pool: asyncpg.Pool, secret_id: str, claim: bytes) -> Peek:
    """What the holder of the link may know before revealing; changes nothing."""
    row = await pool.fetchrow(_PEEK, secret_id)
    if not proof_matches(claim, row and row["claim_verifier"]) or row is None:
        raise SecretNotFound
    return Peek(
        row["passphrase_required"],
        row["views_left"],
        row["expires_at"],
        row["version"],
        row["sealed_bytes"],
    )


# Without a grant lifetime, burnafter_reveal_v6 finds v1 links only (a v2 link's
# reveal is services/store/contents.py's); a delete ends a link of either kind.
REVEAL = """
SELECT outcome, ciphertext, views_left, attempts_left, recipient_may_delete
FROM burnafter_reveal_v6($1, $2, $3, $4, $5, 'reveal', NULL, NULL)
"""
_DELETE_BY_RECIPIENT = """
SELECT outcome, attempts_left FROM burnafter_reveal_v6($1, $2, $3, $4, $5, 'delete', NULL, NULL)
"""


async def _reveal_v6(
    pool: asyncpg.Pool,
    query: str,
    secret_id: str,
    claim: bytes,
    unlock: bytes | None,
    access: Access,
) -> asyncpg.Record:
    return await pool.fetchrow(
        query,
        secret_id,
        verifier(claim),
        None if unlock is None else verifier(unlock),
        access.client_address,
        access.user_agent,
    )


async def reveal(
    pool: asyncpg.Pool, secret_id: str, claim: bytes, unlock: bytes | None, access: Access
) -> Revealed | Refused:
    """Spend one view and return the ciphertext, in one round trip; or say why not.

    The decision runs in ``burnafter_reveal_v6`` (migration 0015), one statement. It
    locks the secret's row only if the claim verifier is right (a wrong claim neither
    takes nor waits for the lock) and holds it to its commit. A
    wrong unlock proof spends one attempt instead, and the last attempt burns the
    secret; the attempt is committed before the refusal comes back.
    """
    row = await _reveal_v6(pool, REVEAL, secret_id, claim, unlock, access)
    outcome = RevealOutcome(row["outcome"])
    if outcome is RevealOutcome.REVEALED:
        return Revealed(row["ciphertext"], row["views_left"], row["recipient_may_delete"])
    return Refused(outcome, row["attempts_left"])


async def delete_by_recipient(
    pool: asyncpg.Pool, secret_id: str, claim: bytes, unlock: bytes | None, access: Access
) -> Refused | None:
    """Delete a live secret for a holder of its link (and of its passphrase), where
    its sender allowed it; None when deleted. The checks are the reveal's, a wrong
    passphrase spends an attempt as it does there. Raises DeleteNotAllowed when the
    sender did not allow it."""
    row = await _reveal_v6(pool, _DELETE_BY_RECIPIENT, secret_id, claim, unlock, access)
    if row["outcome"] == DeleteOutcome.DELETED:
        return None
    if row["outcome"] == DeleteOutcome.NOT_ALLOWED:
        raise DeleteNotAllowed
    return Refused(RevealOutcome(row["outcome"]), row["attempts_left"])


# Each batch is taken into an array (an InitPlan), so the DELETE and the UPDATE
# find their rows through the primary keys. Joined to a CTE instead, the planner
# hashes the whole table for every batch, and a backlog of N rows costs N^2.
_REAP_EXPIRED = """
WITH deleted AS (
    DELETE FROM secrets
    WHERE id = ANY (ARRAY(
        SELECT id FROM secrets
        WHERE expires_at <= now()
        ORDER BY expires_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING id
), receipt AS (
    UPDATE receipts SET state = 'expired', ended_at = now()
    WHERE id = ANY (ARRAY(SELECT id FROM deleted)) AND state = 'active'
    RETURNING id
), event AS (
    INSERT INTO access_events (secret_id, event) SELECT id, 'expired' FROM receipt
)
SELECT id FROM deleted
"""
# A share's receipts go together, once its last link ended that long ago: a line
# of a share is never missing from its receipt while another is still shown.
_PURGE_RECEIPTS = """
DELETE FROM receipts
WHERE id = ANY (ARRAY(
    SELECT r.id FROM receipts AS r
    WHERE r.ended_at < now() - make_interval(secs => $1)
      AND (r.share_id IS NULL OR NOT EXISTS (
          SELECT 1 FROM receipts AS o
          WHERE o.share_id = r.share_id
            AND (o.ended_at IS NULL OR o.ended_at >= now() - make_interval(secs => $1))))
    ORDER BY r.ended_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
))
RETURNING id
"""
_REAPER_BACKLOG = """
SELECT count(*) AS secrets,
       coalesce(extract(epoch FROM now() - min(expires_at)), 0)::float8 AS oldest_age
FROM secrets WHERE expires_at <= now()
"""


async def reap_expired(pool: asyncpg.Pool, batch_size: int) -> list[str]:
    """Delete one batch of expired secrets, marking their receipts; return their ids."""
    return [row["id"] for row in await pool.fetch(_REAP_EXPIRED, batch_size)]


async def purge_receipts(pool: asyncpg.Pool, retention: int, batch_size: int) -> list[str]:
    """Delete one batch of receipts (and their events) ended more than ``retention`` s
    ago; return their ids."""
    return [row["id"] for row in await pool.fetch(_PURGE_RECEIPTS, retention, batch_size)]


@dataclass(frozen=True)
class Backlog:
    secrets: int
    oldest_age: float


async def reaper_backlog(pool: asyncpg.Pool) -> Backlog:
    """Expired secrets not deleted yet, and how long ago the oldest one expired."""
    row = await pool.fetchrow(_REAPER_BACKLOG)
    return Backlog(row["secrets"], row["oldest_age"])


async def database_ready(pool: asyncpg.Pool) -> bool:
    """PostgreSQL answers and takes writes (what libpq's
    ``target_session_attrs=read-write`` asks): a standby, or a primary demoted by a
    failover that an address still names, is not ready."""
    return bool(await pool.fetchval("SELECT current_setting('transaction_read_only') = 'off'"))
