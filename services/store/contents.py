"""Protocol v2 contents, stored in segments: create, upload, reveal, download, reap.

A content is sealed once by the sender's client into segments (the server never
decrypts); each share link is a ``secrets`` row that holds the content key wrapped
for it. Segment 0 travels inline in the create and in the reveal, so a small
content (one segment) is one request each way, as a v1 secret is. A bigger one
uploads segments 1..N-1 by index after the create and goes live on finalize; its
reveal makes a download grant for them, in the reveal's transaction.

A content is deleted, with its segments, as soon as no link references it and no
download grant on it is open: by the path that ended the last hold when an action
ended it (a view, a delete, a burn, a revoke, a grant's completion), by the
reaper's sweep when time did (docs/architecture.md, "Contents in segments").

Lock order is the store's (``services/store/secrets.py``): secrets row, receipts
row, then contents row; an upload, a finalize and a grant's completion lock the
content's row alone. Proofs (upload and grant tokens) come in as they are and are
hashed here, as ``secrets.reveal`` does with the claim; the verifiers stored at a
create or a reveal are made by the caller, as ``NewSecret``'s are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import asyncpg

from services.protocol.content import UPLOAD_WINDOW
from services.protocol.envelope import verifier
from services.store.errors import (
    GrantNotFound,
    InvalidDeclaration,
    SenderQuotaFull,
    StorageFull,
)
from services.store.secrets import (
    Access,
    Refused,
    Revealed,
    StorageLimits,
    proof_matches,
)
from services.store.vocabulary import RevealOutcome, UploadOutcome


@dataclass(frozen=True)
class NewContent:
    """What the sender declares of a content, and its segment 0."""

    segment_size: int  # plaintext bytes of every segment but the last
    segment_count: int
    sealed_bytes: int  # all segments together, tags included
    first_segment: bytes
    upload_verifier: bytes | None = None  # SHA-256 of the upload token; > 1 segment
    upload_expires_in: int = 0  # seconds to upload the others and finalize


@dataclass(frozen=True)
class NewLink:
    """A v2 share link: a ``secrets`` row with the content key wrapped for it."""

    id: str  # also the content's id, while a content has one link
    wrapped_key: bytes
    claim_verifier: bytes
    unlock_verifier: bytes | None
    manage_verifier: bytes
    label: bytes | None
    max_views: int
    max_attempts: int
    expires_in: int
    creator: str | None = None
    notify: tuple[str, ...] = ()
    recipient_may_delete: bool = False


@dataclass(frozen=True)
class NewRecipient:
    """One link of a share of several recipients: its own key wrapped, proofs and
    views, and the sender's private name for it (sealed; docs/protocol.md)."""

    id: str
    wrapped_key: bytes
    claim_verifier: bytes
    unlock_verifier: bytes | None
    max_views: int
    name: bytes | None


@dataclass(frozen=True)
class ContentCreated:
    expires_at: datetime
    upload_expires_at: datetime | None  # None: one segment, live at once
    stored_bytes: int | None  # all bytes held, when they are counted


_CREATE = """
SELECT * FROM burnafter_create_content_v1($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                                          $12, $13, $14, $15, $16, $17, $18, $19, $20,
                                          $21, $22, $23)
"""
_NO_LIMITS = StorageLimits()
_CREATE_REFUSALS = {
    "bad_declaration": InvalidDeclaration,
    "storage_full": StorageFull,
    "quota_full": SenderQuotaFull,
}


async def create_content(
    pool: asyncpg.Pool,
    content: NewContent,
    link: NewLink,
    access: Access,
    limits: StorageLimits = _NO_LIMITS,
    quota_key: str | None = None,  # needed with limits.quota
    recipients: Sequence[NewRecipient] = (),
) -> ContentCreated:
    """Store a content with its segment 0 and its first link (receipt, 'created'
    event), its declared ``sealed_bytes`` reserved within the storage cap and the
    sender's quota before any other segment arrives. Raises InvalidDeclaration,
    StorageFull or SenderQuotaFull, having stored nothing.

    With ``recipients``, the share is theirs: ``link`` holds the share's fields and
    the first recipient's (its id is the share's), and each further recipient gets
    a link to the same content, all in one transaction."""
    if not recipients:
        return await _create(pool, content, link, access, limits, quota_key)
    first, *others = recipients
    async with pool.acquire() as conn, conn.transaction():
        created = await _create(conn, content, link, access, limits, quota_key)
        # One statement for the others: the storage reservation's lock on 'all' is
        # held to this commit, so no round trip per recipient while every create waits.
        opened = await conn.fetchval(_OPEN_SHARE, link.id, first.name)
        added = await conn.fetchval(
            _ADD_RECIPIENTS,
            link.id,
            list(range(1, len(recipients))),
            [other.name for other in others],
            [other.id for other in others],
            [other.wrapped_key for other in others],
            [other.claim_verifier for other in others],
            [other.unlock_verifier for other in others],
            [other.max_views for other in others],
            access.client_address,
            access.user_agent,
        )
        if not opened or added != len(others):
            raise RuntimeError("a share's links were not all stored")  # rolls back
    return created


_OPEN_SHARE = "SELECT burnafter_open_share_v1($1, $2)"
_ADD_RECIPIENTS = """
SELECT count(*) FILTER (WHERE burnafter_add_recipient_v1($1, r.recipient, r.name, r.id,
                                                         r.wrapped_key, r.claim_verifier,
                                                         r.unlock_verifier, r.max_views,
                                                         $9, $10))
FROM unnest($2::integer[], $3::bytea[], $4::text[], $5::bytea[], $6::bytea[], $7::bytea[],
            $8::integer[])
     AS r (recipient, name, id, wrapped_key, claim_verifier, unlock_verifier, max_views)
"""


async def _create(
    db: asyncpg.Pool | asyncpg.Connection,
    content: NewContent,
    link: NewLink,
    access: Access,
    limits: StorageLimits,
    quota_key: str | None,
) -> ContentCreated:
    row = await db.fetchrow(
        _CREATE,
        link.id,
        content.segment_size,
        content.segment_count,
        content.sealed_bytes,
        content.first_segment,
        content.upload_verifier,
        content.upload_expires_in,
        link.wrapped_key,
        link.claim_verifier,
        link.unlock_verifier,
        link.max_views,
        link.max_attempts,
        link.expires_in,
        link.manage_verifier,
        link.label,
        access.client_address,
        access.user_agent,
        link.creator,
        list(link.notify),
        limits.cap,
        quota_key,
        limits.quota,
        link.recipient_may_delete,
    )
    refusal = _CREATE_REFUSALS.get(row["outcome"])
    if refusal is not None:
        raise refusal
    return ContentCreated(row["expires_at"], row["upload_expires_at"], row["stored_bytes"])


@dataclass(frozen=True)
class UploadProgress:
    """An upload request's answer. ``received`` (segments stored, contiguous from 0:
    the next index expected) is set for stored, out_of_order, incomplete and live."""

    outcome: UploadOutcome
    received: int | None = None


_PUT = "SELECT * FROM burnafter_put_segment_v2($1, $2, $3, $4, $5)"
_FINALIZE = "SELECT * FROM burnafter_finalize_content_v1($1, $2)"


async def put_segment(
    pool: asyncpg.Pool, content_id: str, upload_token: bytes, index: int, data: bytes
) -> UploadProgress:
    """Store segment ``index`` of an uploading content: any index not stored yet
    below ``received`` + ``UPLOAD_WINDOW`` (``received``: the count stored in order,
    where a resume starts). One already stored is answered stored again for the
    same bytes (a retry) and conflict for others; one past the window is
    out_of_order, with ``received``. Unknown id, wrong token, finalized or past its
    upload time: not_found, alike."""
    row = await pool.fetchrow(_PUT, content_id, verifier(upload_token), index, data, UPLOAD_WINDOW)
    return UploadProgress(UploadOutcome(row["outcome"]), row["received"])


async def finalize(pool: asyncpg.Pool, content_id: str, upload_token: bytes) -> UploadProgress:
    """Make a content live once all its segments are stored (live again on a retry);
    incomplete with the count stored otherwise; not_found as for ``put_segment``."""
    row = await pool.fetchrow(_FINALIZE, content_id, verifier(upload_token))
    return UploadProgress(UploadOutcome(row["outcome"]), row["received"])


@dataclass(frozen=True)
class UploadState:
    received: int  # the index to resume from
    segment_count: int
    upload_expires_at: datetime


_UPLOAD_STATE = """
SELECT upload_verifier, received, segment_count, upload_expires_at
FROM contents WHERE id = $1 AND state = 'uploading' AND upload_expires_at > now()
"""


async def upload_state(
    pool: asyncpg.Pool, content_id: str, upload_token: bytes
) -> UploadState | None:
    """Where an unfinished upload stands, for its sender to resume; None, alike, for
    an unknown id, a wrong token, or an upload finalized or past its time."""
    row = await pool.fetchrow(_UPLOAD_STATE, content_id)
    if not proof_matches(upload_token, row and row["upload_verifier"]) or row is None:
        return None
    return UploadState(row["received"], row["segment_count"], row["upload_expires_at"])


@dataclass(frozen=True)
class RevealedContent:
    """A view of a v2 link spent: the content key wrapped for the link, the content's
    sizes and segment 0; with more than one segment, until when the download grant
    whose verifier the caller passed is good for segments 1..N-1."""

    wrapped_key: bytes
    segment_size: int
    segment_count: int
    sealed_bytes: int
    first_segment: bytes
    grant_expires_at: datetime | None
    views_left: int
    recipient_may_delete: bool
    content_id: str  # the id its segments are fetched by, with the grant: the link's own
    outcome: ClassVar[RevealOutcome] = RevealOutcome.REVEALED


# The grant names the link it was made for: the client fetches the segments by the
# link's own id, never learning the content's (a share's first link's).
_REVEAL = "SELECT * FROM burnafter_reveal_v6($1, $2, $3, $4, $5, 'reveal', $6, $7)"


async def reveal(
    pool: asyncpg.Pool,
    secret_id: str,
    claim: bytes,
    unlock: bytes | None,
    access: Access,
    grant_verifier: bytes,
    grant_expires_in: float,
) -> Revealed | RevealedContent | Refused:
    """Spend one view of a link of either protocol, in one statement; or say why not.

    ``burnafter_reveal_v6`` makes the checks of ``secrets.reveal`` in its order (the
    claim before the lock, the passphrase's attempts); a v2 link whose content is not
    live yet is not_found. A v1 link answers ``Revealed``. A v2 link answers
    ``RevealedContent``; with more than one segment the grant (SHA-256 of a token the
    caller made, good for ``grant_expires_in`` seconds, naming this link) is stored in
    the same transaction, so racing reveals of a one-view link make exactly one grant."""
    row = await pool.fetchrow(
        _REVEAL,
        secret_id,
        verifier(claim),
        None if unlock is None else verifier(unlock),
        access.client_address,
        access.user_agent,
        grant_verifier,
        grant_expires_in,
    )
    outcome = RevealOutcome(row["outcome"])
    if outcome is not RevealOutcome.REVEALED:
        return Refused(outcome, row["attempts_left"])
    if row["wrapped_key"] is None:
        return Revealed(row["ciphertext"], row["views_left"], row["recipient_may_delete"])
    return RevealedContent(
        row["wrapped_key"],
        row["segment_size"],
        row["segment_count"],
        row["sealed_bytes"],
        row["first_segment"],
        row["grant_expires_at"],
        row["views_left"],
        row["recipient_may_delete"],
        secret_id,
    )


# A grant is found by its verifier, the key of its table. The B-tree's comparisons
# can tell at most how much of SHA-256(guess) matches a stored verifier, which
# brings a guesser no nearer to a token (a preimage): so, unlike a proof checked
# against one row's verifier, this needs no compare in constant time.
_OPEN_GRANT = "g.verifier = $1 AND g.completed_at IS NULL AND g.expires_at > now()"
# $3 is the id the client fetches by: the link's (content's, for a grant made by a
# pod of the release before, which named no link).
_READ_SEGMENT = f"""
SELECT s.data FROM download_grants AS g
JOIN segments AS s ON s.content_id = g.content_id AND s.index = $2
WHERE {_OPEN_GRANT} AND coalesce(g.link_id, g.content_id) = $3
"""  # noqa: S608 (a constant)
_GRANT_SEGMENTS = f"""
SELECT c.segment_count FROM download_grants AS g JOIN contents AS c ON c.id = g.content_id
WHERE {_OPEN_GRANT} AND coalesce(g.link_id, g.content_id) = $2
"""  # noqa: S608 (a constant)
_COMPLETE_GRANT = "SELECT burnafter_complete_grant_v1($1)"


async def read_segment(
    pool: asyncpg.Pool, content_id: str, grant_token: bytes, index: int
) -> bytes:
    """One sealed segment of a content, for an open grant on it. One query per
    segment, on a pool connection only while it runs: a slow download holds no
    connection, transaction or snapshot between segments (a server-side cursor would
    hold all three for the whole download), and a grant completed or expired
    meanwhile stops it. Raises GrantNotFound for an unknown, completed or expired
    grant, a grant on another content, or an index the content lacks."""
    data: bytes | None = await pool.fetchval(
        _READ_SEGMENT, verifier(grant_token), index, content_id
    )
    if data is None:
        raise GrantNotFound
    return data


async def complete_grant(pool: asyncpg.Pool, content_id: str, grant_token: bytes) -> None:
    """End an open grant, its download done; the content goes with its last hold, in
    the same transaction. Raises GrantNotFound as ``read_segment`` does."""
    token = verifier(grant_token)
    if await pool.fetchval(_GRANT_SEGMENTS, token, content_id) is None:
        raise GrantNotFound
    if not await pool.fetchval(_COMPLETE_GRANT, token):
        raise GrantNotFound


# The link's row and its content's are both locked (SKIP LOCKED), so a finalize in
# flight is skipped, and one committed since this statement's snapshot is seen
# again (the content's state is checked once more on its newest version).
_REAP_UNFINISHED = """
WITH deleted AS (
    DELETE FROM secrets
    WHERE id = ANY (ARRAY(
        SELECT s.id FROM secrets AS s JOIN contents AS c ON c.id = s.content_id
        WHERE c.state = 'uploading' AND c.upload_expires_at <= now()
        ORDER BY c.upload_expires_at
        LIMIT $1
        FOR UPDATE OF s, c SKIP LOCKED
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
_RELEASE_UNHELD = """
UPDATE contents SET state = 'released'
WHERE id = ANY (ARRAY(
    SELECT id FROM contents
    WHERE state <> 'released' AND burnafter_content_unheld_v1(id)
    LIMIT $1
    FOR UPDATE SKIP LOCKED
))
RETURNING id
"""
# Segments of released contents, a few at a time: a statement deletes at most
# SEGMENTS_PER_STATEMENT of them (64 MiB at the default segment size), so no pass
# holds one long transaction over a large file's half a million TOAST rows.
SEGMENTS_PER_STATEMENT = 64
_PURGE_SEGMENTS = """
DELETE FROM segments
WHERE (content_id, index) IN (
    SELECT s.content_id, s.index
    FROM segments AS s JOIN contents AS c ON c.id = s.content_id
    WHERE c.state = 'released'
    LIMIT $1
    FOR UPDATE OF s SKIP LOCKED
)
RETURNING content_id
"""
_DROP_EMPTIED = """
DELETE FROM contents AS c
WHERE c.state = 'released'
  AND NOT EXISTS (SELECT 1 FROM segments AS s WHERE s.content_id = c.id)
RETURNING c.id
"""


async def reap_unfinished_uploads(pool: asyncpg.Pool, batch_size: int) -> list[str]:
    """End one batch of links whose content was not finalized in its upload time:
    the link never went live, so its receipt reads expired, with an 'expired' event.
    Their contents are left to ``release_unheld``; return the links' ids."""
    return [row["id"] for row in await pool.fetch(_REAP_UNFINISHED, batch_size)]


async def release_unheld(pool: asyncpg.Pool, batch_size: int) -> list[str]:
    """Release one batch of contents no link references and no open grant holds:
    those time let go (a link expired, a grant expired, an upload never finished),
    which no transaction of their own released. Return their ids."""
    return [row["id"] for row in await pool.fetch(_RELEASE_UNHELD, batch_size)]


async def purge_released(pool: asyncpg.Pool) -> list[str]:
    """Delete one batch of the segments of released contents; return their contents'
    ids, one per segment deleted."""
    rows = await pool.fetch(_PURGE_SEGMENTS, SEGMENTS_PER_STATEMENT)
    return [row["content_id"] for row in rows]


async def drop_emptied(pool: asyncpg.Pool) -> list[str]:
    """Delete the released contents whose segments are all gone; return their ids."""
    return [row["id"] for row in await pool.fetch(_DROP_EMPTIED)]


async def uploads_in_progress(pool: asyncpg.Pool) -> int:
    """Contents created and not finalized yet (those past their time included, until
    the reaper takes them)."""
    count: int = await pool.fetchval("SELECT count(*) FROM contents WHERE state = 'uploading'")
    return count
