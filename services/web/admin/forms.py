"""Cross-site request forgery on the admin's forms: a page on another site must not
make an admin's browser create or revoke an API token.

Why not the ``Origin`` header alone: every page of the site is sent with
``Referrer-Policy: no-referrer``, and under that policy a browser sends
``Origin: null`` on a form post, from the site's own pages too (Fetch,
"serialize a request origin"). An ``Origin`` check therefore refuses the admin's
own clicks, which is how the token page once refused every post.

What is checked instead, on every POST of the admin sub-app:

1. ``Sec-Fetch-Site``, when the browser sends it (Chromium 76+, Firefox 90+,
   Safari 16.4+). Page script cannot set or change it. Only ``same-origin`` is
   accepted: ``cross-site`` and ``same-site`` (a page on another site, or on a
   sibling host) and ``none`` (no page at all; a person cannot type a POST) are
   refused, whatever else the request carries.
2. Without it (an older browser, a proxy that drops it, a script), either an
   ``Origin`` naming this very host, or the form's hidden token: HMAC-SHA256 under
   a key derived from ``AUDIT_KEY`` and ``ADMIN_TOKEN``, over the admin's identity
   and the time the page was made; it is good for :data:`TOKEN_LIFETIME`. Another
   site can neither read it (the page is same-origin only) nor compute it. A
   request with neither is refused.

GETs change nothing and are not checked, so a bookmark or a typed address works.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from aiohttp import web

from services.i18n import N_
from services.server.middlewares import served_over_tls
from services.server.settings import Settings

TOKEN_FIELD = "form_token"
TOKEN_LIFETIME = 12 * 3600
"""Seconds a page's form token stays good: a working day with the page left open."""
_CLOCK_SKEW = 300
FORM_KEY = web.AppKey("admin_form_key", bytes)
_now = time.time  # the clock of the tokens (a seam for the tests)
REFUSED = N_(
    "Cross-site form posts are refused: this form was not sent from this dashboard's own"
    " page, so nothing was changed. To make the change, use the form below."
)


def form_key(settings: Settings) -> bytes:
    """The key of the form tokens: bound to the server's ``AUDIT_KEY`` (one value
    on every replica, docs/operations.md) and to ``ADMIN_TOKEN``, so that changing
    the admin token also ends every form token made under it. A label keeps it
    apart from the audit references made with the same key."""
    material = b"burnafter admin form key\0" + settings.admin_token.encode()
    return hmac.new(settings.audit_key, material, hashlib.sha256).digest()


def _mac(key: bytes, actor: str, issued: int) -> str:
    return hmac.new(key, f"{actor}\0{issued}".encode(), hashlib.sha256).hexdigest()


def make_token(request: web.Request, actor: str) -> str:
    """The hidden field of the admin's forms on the page being made."""
    issued = int(_now())
    return f"{issued}.{_mac(request.config_dict[FORM_KEY], actor, issued)}"


def _token_is_good(request: web.Request, actor: str, token: str) -> bool:
    issued_text, _, mac = token.partition(".")
    if not issued_text.isascii() or not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not -_CLOCK_SKEW <= _now() - issued <= TOKEN_LIFETIME:
        return False
    expected = _mac(request.config_dict[FORM_KEY], actor, issued)
    return hmac.compare_digest(mac.encode(), expected.encode())


def _is_own_origin(request: web.Request, origin: str) -> bool:
    """``Origin`` names this host; over TLS (here or at a trusted proxy), with https."""
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    schemes = {"https"} if served_over_tls(request) else {"http", "https"}
    return parts.scheme in schemes and parts.netloc == request.host


def from_own_page(request: web.Request, actor: str, form: dict[str, str]) -> bool:
    """Whether this POST came from one of the admin's own pages (see above)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() == "same-origin"
    return _is_own_origin(request, request.headers.get("Origin", "")) or _token_is_good(
        request, actor, form.get(TOKEN_FIELD, "")
    )
