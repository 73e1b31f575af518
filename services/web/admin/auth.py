"""Who may use the admin dashboard, checked once for every admin page by one
middleware of the admin sub-app.

The dashboard is off (404) unless ``ADMIN_TOKEN``, ``ADMIN_USERS`` or
``ADMIN_GROUPS`` is set. An admin is either a signed-in user
(services/server/identity.py) named in ``ADMIN_USERS`` or in a group of
``ADMIN_GROUPS``, or anyone presenting ``ADMIN_TOKEN`` (HTTP Basic password, or
Bearer). Every decision on a presented credential is an audit line. Wrong tokens
are rate limited per client address (``RATE_LIMIT_ADMIN_SIGN_IN``): past the
limit, every token from that address gets 429 before it is even compared."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from services.i18n import SOURCE, translations
from services.server.appkeys import AUDITOR, SETTINGS
from services.server.client_address import access_of, client_of
from services.server.identity import bearer_token, signed_in
from services.server.middlewares import Handler
from services.server.rate_limits import RateLimited, RateLimiter
from services.web.languages import LANGUAGE

ADMIN = web.RequestKey("admin", str)
"""The admin's identity, set on every request the admin sub-app serves."""
SIGN_IN = "admin_sign_in"
SIGN_IN_LIMITER = web.AppKey("admin_sign_in_limiter", RateLimiter)

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="burnafter admin", charset="UTF-8"'}


def _presented_token(request: web.Request) -> str | None:
    bearer = bearer_token(request)
    if bearer is not None:
        return bearer
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return None


def require_admin(request: web.Request) -> str:
    """The admin's identity, or a 404 (dashboard off), 401 or 403."""
    settings = request.config_dict[SETTINGS]
    if not settings.admin_token and not settings.admin_users and not settings.admin_groups:
        raise web.HTTPNotFound()
    auditor, access = request.config_dict[AUDITOR], access_of(request)
    _ = translations(request.get(LANGUAGE, SOURCE)).gettext  # the refusals' plain text

    def audit(outcome: str, actor: str | None) -> None:
        auditor.record(
            "admin.access", outcome=outcome, actor=actor, access=access, path=request.path
        )

    identity = signed_in(request)
    if identity is not None and (settings.admin_users or settings.admin_groups):
        if identity.user in settings.admin_users or identity.groups & settings.admin_groups:
            audit("ok", identity.user)
            return identity.user
        audit("denied", identity.user)
        raise web.HTTPForbidden(text=_("You are signed in, but not as an admin."))
    token = _presented_token(request)
    denied = _("Only admins may see this page. Sign in as an admin, or with the admin token.")
    if token is None:
        raise web.HTTPUnauthorized(headers=_CHALLENGE, text=denied)
    limiter, client = request.app[SIGN_IN_LIMITER], client_of(request).rate_limit_key
    try:
        limiter.check(SIGN_IN, client)
    except RateLimited as limited:
        audit("rate_limited", None)
        raise web.HTTPTooManyRequests(
            text=_("Too many wrong admin tokens from your address. Try again later."),
            headers={"Retry-After": str(limited.retry_after)},
        ) from None
    if settings.admin_token and hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        audit("ok", "admin-token")
        return "admin-token"
    audit("denied", None)
    limiter.take(SIGN_IN, client)
    raise web.HTTPUnauthorized(headers=_CHALLENGE, text=denied)


@web.middleware
async def admin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route of the admin sub-app: an admin, or no answer but the refusal."""
    request[ADMIN] = require_admin(request)
    return await handler(request)
