"""Every error of the api as an ``application/problem+json`` response (RFC 9457).

Details are fixed texts chosen here, plus field names and numbers: never a value
taken from the request."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from services.api.abuse import RateLimited, StorageFull
from services.api.senders import AuthenticationRequired
from services.common.db import DATABASE_UNAVAILABLE
from services.common.errors import (
    PassphraseRequired,
    ReceiptNotFound,
    SecretAlreadyEnded,
    SecretNotFound,
    WrongPassphrase,
)
from services.common.http import Handler

log = structlog.get_logger("burnafter.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
SECRET_GONE = (
    "This secret does not exist or is gone: it was already viewed, it expired, or it was revoked."
)


class InvalidRequest(Exception):
    """A request that breaks the contract; ``field`` names the culprit, if one."""

    def __init__(self, detail: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.status = status


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> web.Response:
    body = {"type": f"urn:burnafter:problem:{kind}", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra)
    return web.json_response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _from_http_exception(exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return problem(
            413, "payload-too-large", "Request too large", "The request body is over the limit."
        )
    if isinstance(exc, web.HTTPMethodNotAllowed):
        response = problem(
            405, "method-not-allowed", "Method not allowed", "This path does not take that method."
        )
        response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        return response
    if exc.status == 404:
        return problem(404, "no-such-route", "Not found", "There is no such API path.")
    return problem(exc.status, "http-error", exc.reason, exc.reason)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SecretNotFound:
        return problem(404, "secret-not-found", "Secret not found", SECRET_GONE)
    except ReceiptNotFound:
        return problem(
            404, "receipt-not-found", "Receipt not found", "No receipt matches this link."
        )
    except PassphraseRequired as exc:
        return problem(
            401,
            "passphrase-required",
            "Passphrase required",
            "This secret is protected by a passphrase.",
            attempts_left=exc.attempts_left,
        )
    except WrongPassphrase as exc:
        detail = (
            "Wrong passphrase. Too many wrong passphrases: the secret is destroyed."
            if exc.attempts_left == 0
            else f"Wrong passphrase. {exc.attempts_left} attempt(s) left."
        )
        return problem(
            401, "wrong-passphrase", "Wrong passphrase", detail, attempts_left=exc.attempts_left
        )
    except SecretAlreadyEnded as exc:
        return problem(
            409,
            "secret-already-ended",
            "Secret already ended",
            f"The secret is already {exc.state}.",
            state=exc.state,
        )
    except RateLimited as exc:
        response = problem(
            429,
            "rate-limited",
            "Too many requests",
            f"Too many requests from your address. Try again in {exc.retry_after} s.",
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except StorageFull:
        return problem(
            507,
            "storage-full",
            "Storage full",
            "The service holds as many secrets as it may. Try again later.",
        )
    except AuthenticationRequired as exc:
        response = problem(401, "authentication-required", "Authentication required", exc.detail)
        response.headers["WWW-Authenticate"] = 'Bearer realm="burnafter"'
        return response
    except InvalidRequest as exc:
        extra = {"field": exc.field} if exc.field else {}
        return problem(exc.status, "invalid-request", "Invalid request", exc.detail, **extra)
    except web.HTTPException as exc:
        return _from_http_exception(exc)
    except DATABASE_UNAVAILABLE as exc:
        log.warning("database_unavailable", error=type(exc).__name__)
        return problem(
            503, "database-unavailable", "Service unavailable", "The database cannot be reached."
        )
