"""Who is signed in: the user and groups that an identity-aware proxy (oauth2-proxy,
Pomerium, an ingress with external auth) puts in ``IDENTITY_HEADER`` and
``GROUPS_HEADER``. They are believed only from a ``TRUSTED_PROXIES`` peer;
from anyone else they are ignored, and that is logged."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web

from services.server.appkeys import SETTINGS
from services.server.client_address import peer_is_trusted_proxy

log = structlog.get_logger("burnafter.identity")

MAX_IDENTITY_CHARS = 254  # the longest e-mail address
MAX_GROUPS = 200


@dataclass(frozen=True)
class Identity:
    user: str
    groups: frozenset[str]


def signed_in(request: web.Request) -> Identity | None:
    """The proxy's word on who this is, or None."""
    settings = request.config_dict[SETTINGS]
    for header in (settings.identity_header, settings.groups_header):
        if len(request.headers.getall(header, [])) > 1:
            # Two lines: one from the proxy and one from the client, in some order.
            raise web.HTTPBadRequest(text=f"{header} appears more than once.")
    user = request.headers.get(settings.identity_header, "").strip().lower()
    if not user:
        return None
    if not peer_is_trusted_proxy(request):
        log.warning("identity_header_ignored", reason="peer is not a trusted proxy")
        return None
    if len(user) > MAX_IDENTITY_CHARS or not user.isprintable():
        log.warning("identity_header_ignored", reason="not a plausible identity")
        return None
    raw_groups = request.headers.get(settings.groups_header, "")
    groups = frozenset(
        group.strip().lower() for group in raw_groups.split(",")[:MAX_GROUPS] if group.strip()
    )
    return Identity(user, groups)


def signed_in_name(request: web.Request) -> str | None:
    """For the pages' header: who the proxy says is signed in."""
    identity = signed_in(request)
    return None if identity is None else identity.user


def bearer_token(request: web.Request) -> str | None:
    """The value of ``Authorization: Bearer <value>``, or None for any other scheme."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
