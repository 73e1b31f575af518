"""Every error of the api as an ``application/problem+json`` response (RFC 9457).

One table maps each exception type, and one each refused reveal outcome, to its
answer. Details are fixed texts chosen here, plus field names and numbers: never a
value taken from the request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

from services.api.errors import (
    AuthenticationRequired,
    ContentTooLarge,
    InvalidRequest,
    UploadRefused,
)
from services.api.wire import json_answer
from services.protocol.content import UPLOAD_WINDOW
from services.server.middlewares import (
    UNEXPECTED_ERROR,
    Handler,
    report_database_error,
    report_unexpected,
)
from services.server.rate_limits import RateLimited
from services.store.db import DATABASE_UNAVAILABLE, STATEMENTS_LOST
from services.store.errors import (
    DeleteNotAllowed,
    GrantNotFound,
    InvalidDeclaration,
    ReceiptNotFound,
    RecipientNotFound,
    RequestAnswered,
    RequestExpired,
    RequestNotFound,
    SecretAlreadyEnded,
    SecretNotFound,
    SenderQuotaFull,
    StorageFull,
)
from services.store.secrets import Refused
from services.store.vocabulary import RevealOutcome, UploadOutcome

log = structlog.get_logger("burnafter.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
SECRET_GONE = (
    "This secret does not exist or is gone: it was already viewed, it expired, or it was revoked."
)


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> web.Response:
    body = {"type": f"urn:burnafter:problem:{kind}", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra)
    return json_answer(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


@dataclass(frozen=True)
class Problem:
    """One answer: ``type`` is ``urn:burnafter:problem:<kind>``; ``extra`` goes into
    the body, ``headers`` onto the response."""

    status: int
    kind: str
    title: str
    detail: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        answer = problem(self.status, self.kind, self.title, self.detail, **self.extra)
        answer.headers.update(self.headers)
        return answer


SECRET_NOT_FOUND = Problem(404, "secret-not-found", "Secret not found", SECRET_GONE)


def _wrong_passphrase(attempts_left: int) -> Problem:
    detail = (
        "Wrong passphrase. Too many wrong passphrases: the secret is destroyed."
        if attempts_left == 0
        else f"Wrong passphrase. {attempts_left} attempt(s) left."
    )
    extra = {"attempts_left": attempts_left}
    return Problem(401, "wrong-passphrase", "Wrong passphrase", detail, extra)


# A refused reveal, by outcome; each takes the attempts left.
_REFUSALS: dict[RevealOutcome, Callable[[Any], Problem]] = {
    RevealOutcome.NOT_FOUND: lambda _: SECRET_NOT_FOUND,
    RevealOutcome.PASSPHRASE_REQUIRED: lambda left: Problem(
        401,
        "passphrase-required",
        "Passphrase required",
        "This secret is protected by a passphrase.",
        {"attempts_left": left},
    ),
    RevealOutcome.WRONG_PASSPHRASE: _wrong_passphrase,
}


def refusal(refused: Refused) -> web.Response:
    return _REFUSALS[refused.outcome](refused.attempts_left).response()


UPLOAD_NOT_FOUND = Problem(
    404,
    "upload-not-found",
    "Upload not found",
    "No upload in progress matches this id and token: it finished, it ran out of time, "
    "or it never was.",
)


def _upload_refused(exc: UploadRefused) -> Problem:
    """A segment upload or a finalize, by what the store said."""
    received = {"received": exc.received}
    answers = {
        UploadOutcome.OUT_OF_ORDER: Problem(
            409,
            "segment-out-of-order",
            "Segment out of order",
            "This segment is too far ahead: send from the one numbered `received`, with at most "
            f"{UPLOAD_WINDOW} segments in flight.",
            received,
        ),
        UploadOutcome.CONFLICT: Problem(
            409,
            "segment-conflict",
            "Segment conflict",
            "A segment with this number was stored with other bytes.",
        ),
        UploadOutcome.INCOMPLETE: Problem(
            409,
            "upload-incomplete",
            "Upload incomplete",
            "Not every segment has arrived: send from the one numbered `received`.",
            received,
        ),
        UploadOutcome.WRONG_SIZE: Problem(
            400,
            "invalid-request",
            "Invalid request",
            "The segment's size is not the one its content declared.",
            {"field": "body"},
        ),
        UploadOutcome.BAD_INDEX: Problem(
            400,
            "invalid-request",
            "Invalid request",
            "The content declared no segment with this number.",
            {"field": "index"},
        ),
    }
    return answers.get(UploadOutcome(exc.outcome), UPLOAD_NOT_FOUND)


def _http_error(exc: web.HTTPException) -> Problem:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return Problem(
            413, "payload-too-large", "Request too large", "The request body is over the limit."
        )
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return Problem(
            405,
            "method-not-allowed",
            "Method not allowed",
            "This path does not take that method.",
            headers={"Allow": ",".join(sorted(exc.allowed_methods))},
        )
    if exc.status == 404:
        return Problem(404, "no-such-route", "Not found", "There is no such API path.")
    return Problem(exc.status, "http-error", exc.reason, exc.reason)


DATABASE_UNAVAILABLE_ANSWER = Problem(
    503, "database-unavailable", "Service unavailable", "The database cannot be reached."
)


def _database_unavailable(exc: BaseException) -> Problem:
    report_database_error(exc)
    return DATABASE_UNAVAILABLE_ANSWER


# Each error type with its answer; a subclass takes its nearest listed base's.
_ERRORS: dict[type[BaseException], Callable[[Any], Problem]] = {
    SecretNotFound: lambda _: SECRET_NOT_FOUND,
    ReceiptNotFound: lambda _: Problem(
        404, "receipt-not-found", "Receipt not found", "No receipt matches this link."
    ),
    RequestNotFound: lambda _: Problem(
        404, "request-not-found", "Request not found", "No request matches this link."
    ),
    RequestAnswered: lambda _: Problem(
        409,
        "request-answered",
        "Request already answered",
        "This request was answered already: it takes one answer.",
    ),
    RequestExpired: lambda _: Problem(
        410, "request-expired", "Request expired", "This request ran out of time unanswered."
    ),
    RecipientNotFound: lambda _: Problem(
        404, "recipient-not-found", "Recipient not found", "This share has no such recipient."
    ),
    SecretAlreadyEnded: lambda exc: Problem(
        409,
        "secret-already-ended",
        "Secret already ended",
        f"The secret is already {exc.state.v1()}.",
        {"state": exc.state.v1()},
    ),
    RateLimited: lambda exc: Problem(
        429,
        "rate-limited",
        "Too many requests",
        f"Too many requests from your address. Try again in {exc.retry_after} s.",
        headers={"Retry-After": str(exc.retry_after)},
    ),
    ContentTooLarge: lambda exc: Problem(
        413,
        "content-too-large",
        "Content too large",
        f"A secret holds at most {exc.max_content_bytes} bytes, text and files together.",
        {"max_content_bytes": exc.max_content_bytes},
    ),
    InvalidDeclaration: lambda _: Problem(
        400,
        "invalid-request",
        "Invalid request",
        "segment_count, sealed_bytes and first_segment do not add up for this segment size.",
        {"field": "sealed_bytes"},
    ),
    UploadRefused: _upload_refused,
    GrantNotFound: lambda _: Problem(
        404,
        "download-not-found",
        "Download not found",
        "No open download matches this token and segment: it finished, it ran out of "
        "time, or it never was.",
    ),
    DeleteNotAllowed: lambda _: Problem(
        403,
        "delete-not-allowed",
        "Delete not allowed",
        "The sender did not allow the recipient to delete this secret.",
    ),
    StorageFull: lambda _: Problem(
        507,
        "storage-full",
        "Storage full",
        "The service holds as many secrets as it may. Try again later.",
    ),
    SenderQuotaFull: lambda _: Problem(
        507,
        "sender-quota-full",
        "Sender quota full",
        "You hold as much in secrets as one sender may. Revoke some, or try again once "
        "some are viewed or expire.",
    ),
    AuthenticationRequired: lambda exc: Problem(
        401,
        "authentication-required",
        "Authentication required",
        exc.detail,
        headers={"WWW-Authenticate": 'Bearer realm="burnafter"'},
    ),
    InvalidRequest: lambda exc: Problem(
        exc.status,
        "invalid-request",
        "Invalid request",
        exc.detail,
        {"field": exc.field} if exc.field else {},
    ),
    web.HTTPException: _http_error,
    **dict.fromkeys(DATABASE_UNAVAILABLE, _database_unavailable),
    **dict.fromkeys(STATEMENTS_LOST, _database_unavailable),
}


def _answer_for(exc: Exception) -> Problem | None:
    for cls in type(exc).__mro__:
        if cls in _ERRORS:
            return _ERRORS[cls](exc)
    return None


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:  # noqa: BLE001 - every other error, answered as a 500 problem
        answer = _answer_for(exc)
        if answer is None:
            report_unexpected(exc)
            answer = Problem(500, "internal-error", "Internal error", UNEXPECTED_ERROR)
        return answer.response()
