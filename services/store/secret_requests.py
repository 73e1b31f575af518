"""Requests: an asker asks for a secret with a fill link; its one answer is a v2
content sealed to the asker (docs/protocol.md, "Requests").

The answer is stored as a link (``secrets`` row, receipt, content) whose id is the
request's and whose proofs the asker registered when asking, so the asker collects
it as any v2 link: reveal with the collect link's claim, the receipt with its
manage token. A request is answered once: ``burnafter_answer_request_v1`` takes its
row lock, so racing answers store exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.protocol.envelope import verifier
from services.store.contents import ContentCreated, NewContent
from services.store.errors import (
    AnswerTooLarge,
    InvalidDeclaration,
    RequestAnswered,
    RequestExpired,
    RequestNotFound,
    SenderQuotaFull,
    StorageFull,
)
from services.store.secrets import Access, StorageLimits, proof_matches


@dataclass(frozen=True)
class NewRequest:
    """What the asker's client sends: verifiers, the sealed note, the choices."""

    id: str
    fill_verifier: bytes
    note: bytes | None
    files_allowed: bool
    max_content_bytes: int
    max_sealed_bytes: int
    answer_claim_verifier: bytes
    answer_unlock_verifier: bytes | None
    answer_max_views: int
    answer_expires_in: int
    manage_verifier: bytes
    expires_in: int
    creator: str | None = None
    notify: tuple[str, ...] = ()
    notify_email: str | None = None
    notify_language: str | None = None  # the email's: a tag of services.i18n.LANGUAGES


@dataclass(frozen=True)
class OpenRequest:
    """What a fill link's holder reads before answering."""

    note: bytes | None
    files_allowed: bool
    max_content_bytes: int
    expires_at: datetime


@dataclass(frozen=True)
class RequestState:
    """The asker's view of a request."""

    state: str  # open, answered or expired
    files_allowed: bool
    max_content_bytes: int
    answer_max_views: int
    created_at: datetime
    expires_at: datetime
    opened_at: datetime | None
    answered_at: datetime | None
    uploading: bool  # answered, and the answer's segments still arriving


_ASK = """
INSERT INTO requests (id, fill_verifier, note, files_allowed, max_content_bytes,
                      max_sealed_bytes, answer_claim_verifier, answer_unlock_verifier,
                      answer_max_views, answer_expires_in, manage_verifier, creator, notify,
                      quota_key, notify_email, notify_language, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        now() + make_interval(secs => $17))
RETURNING expires_at
"""


async def ask(pool: asyncpg.Pool, new: NewRequest, quota_key: str | None) -> datetime:
    """Store a request; answers until when it may be answered. ``quota_key`` is the
    asker's: the answer's bytes count against it."""
    expires_at: datetime = await pool.fetchval(
        _ASK,
        new.id,
        new.fill_verifier,
        new.note,
        new.files_allowed,
        new.max_content_bytes,
        new.max_sealed_bytes,
        new.answer_claim_verifier,
        new.answer_unlock_verifier,
        new.answer_max_views,
        new.answer_expires_in,
        new.manage_verifier,
        new.creator,
        list(new.notify),
        quota_key,
        new.notify_email,
        new.notify_language,
        new.expires_in,
    )
    return expires_at


_ENDED = {"answered": RequestAnswered, "expired": RequestExpired, "not_found": RequestNotFound}
_OPEN = "SELECT * FROM burnafter_open_request_v1($1, $2)"


async def open_request(pool: asyncpg.Pool, request_id: str, fill_claim: bytes) -> OpenRequest:
    """The request, for the holder of its fill link; the first read is noted. Raises
    RequestNotFound (unknown id or wrong claim, alike), RequestAnswered, RequestExpired."""
    row = await pool.fetchrow(_OPEN, request_id, verifier(fill_claim))
    ended = _ENDED.get(row["outcome"])
    if ended is not None:
        raise ended
    return OpenRequest(
        row["note"], row["files_allowed"], row["max_content_bytes"], row["expires_at"]
    )


_ANSWER = """
SELECT * FROM burnafter_answer_request_v1($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                                          $13, $14, $15)
"""
_ANSWER_LIMIT = "SELECT max_content_bytes FROM requests WHERE id = $1"
_REFUSED = {
    **_ENDED,
    "bad_declaration": InvalidDeclaration,
    "storage_full": StorageFull,
    "quota_full": SenderQuotaFull,
}


async def answer(
    pool: asyncpg.Pool,
    request_id: str,
    fill_claim: bytes,
    content: NewContent,
    wrapped_key: bytes,
    service_max_sealed_bytes: int,
    max_attempts: int,
    access: Access,
    limits: StorageLimits,
    service_max_content_bytes: int,
) -> ContentCreated:
    """Store the one answer to a request, in one statement; racing answers store one,
    the others get RequestAnswered. Raises as ``open_request`` does, AnswerTooLarge
    (with the most the request takes: its own limit or the service's),
    and as ``contents.create_content`` does, having stored nothing."""
    row = await pool.fetchrow(
        _ANSWER,
        request_id,
        verifier(fill_claim),
        content.segment_size,
        content.segment_count,
        content.sealed_bytes,
        service_max_sealed_bytes,
        content.first_segment,
        content.upload_verifier,
        content.upload_expires_in,
        wrapped_key,
        max_attempts,
        access.client_address,
        access.user_agent,
        limits.cap,
        limits.quota,
    )
    if row["outcome"] == "too_large":
        # Its own limit, when the request is still there to say it (the reaper may
        # have taken it since).
        limit = await pool.fetchval(_ANSWER_LIMIT, request_id)
        raise AnswerTooLarge(min(limit or service_max_content_bytes, service_max_content_bytes))
    refused = _REFUSED.get(row["outcome"])
    if refused is not None:
        raise refused
    return ContentCreated(row["expires_at"], row["upload_expires_at"], row["stored_bytes"])


_READ = """
SELECT manage_verifier, files_allowed, max_content_bytes, answer_max_views,
       created_at, expires_at, opened_at, answered_at,
       CASE WHEN state = 'open' AND expires_at <= now() THEN 'expired' ELSE state END AS state,
       EXISTS (SELECT FROM secrets AS s JOIN contents AS c ON c.id = s.content_id
               WHERE s.id = q.id AND c.state = 'uploading') AS uploading
FROM requests AS q WHERE id = $1
"""


async def read_request(pool: asyncpg.Pool, request_id: str, manage: bytes) -> RequestState:
    """The asker's view; RequestNotFound, alike, for an unknown id or a wrong token."""
    row = await pool.fetchrow(_READ, request_id)
    if not proof_matches(manage, row and row["manage_verifier"]) or row is None:
        raise RequestNotFound
    fields = dict(row)
    del fields["manage_verifier"]
    return RequestState(**fields)


_REAP = "SELECT burnafter_reap_requests_v1($1, $2)"


async def reap_requests(pool: asyncpg.Pool, retention: int, batch_size: int) -> int:
    """Delete one batch of requests past their time by ``retention`` seconds."""
    reaped: int = await pool.fetchval(_REAP, retention, batch_size)
    return reaped


_NOTICE = "SELECT burnafter_notice_answers_v1($1)"


async def notice_answers(pool: asyncpg.Pool, batch_size: int) -> int:
    """Mark up to ``batch_size`` answers that became collectable as noticed, queueing
    their ``request.answered`` webhooks in the same statement; how many."""
    noticed: int = await pool.fetchval(_NOTICE, batch_size)
    return noticed


@dataclass(frozen=True)
class EmailNotice:
    """An answered request whose asker left an address."""

    id: str
    address: str
    language: str | None  # the tag the asker asked in; none from a previous release's api
    attempts: int  # made before this one
    created_at: datetime
    answered_at: datetime


_TAKE_EMAILS = """
SELECT id, notify_email AS address, notify_language AS language, email_attempts AS attempts,
       created_at, answered_at
FROM requests
WHERE state = 'answered' AND notify_email IS NOT NULL AND email_next_at <= now()
ORDER BY answered_at
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
_EMAILED = """
UPDATE requests
SET notify_email = NULL, notify_language = NULL, email_attempts = email_attempts + 1
WHERE id = $1
"""
_EMAIL_FAILED = """
UPDATE requests
SET email_attempts = email_attempts + 1,
    email_next_at = clock_timestamp() + make_interval(secs => $2),
    notify_email = CASE WHEN email_attempts + 1 >= $3 THEN NULL ELSE notify_email END,
    notify_language = CASE WHEN email_attempts + 1 >= $3 THEN NULL ELSE notify_language END
WHERE id = $1
"""


async def take_due_emails(conn: asyncpg.Connection, limit: int) -> list[EmailNotice]:
    """Up to ``limit`` email notices due (their answer noticed, their retry time come),
    locked until the caller's transaction ends, so two mailers never send one twice."""
    return [EmailNotice(**dict(row)) for row in await conn.fetch(_TAKE_EMAILS, limit)]


async def mark_emailed(conn: asyncpg.Connection, notice: EmailNotice) -> None:
    """Sent: the address is erased, and its language."""
    await conn.execute(_EMAILED, notice.id)


async def mark_email_failed(
    conn: asyncpg.Connection, notice: EmailNotice, retry_in: float, max_attempts: int
) -> bool:
    """Count the attempt and retry in ``retry_in`` s; after ``max_attempts`` the
    address and its language are erased and the notice given up. Says whether it
    was given up."""
    await conn.execute(_EMAIL_FAILED, notice.id, retry_in, max_attempts)
    return notice.attempts + 1 >= max_attempts
