"""Who is signed in: the user and groups that an identity-aware proxy (oauth2-proxy,
Pomerium, an ingress with external auth) puts in ``IDENTITY_HEADER`` and
``GROUPS_HEADER``. They are believed only from a ``TRUSTED_PROXIES`` peer;
from anyone else they are ignored, and that is logged.

The groups header is read one way only, so that no group name the identity
provider grants can be read as another group (an admin group above all):

- a header holding any character that is not printable (controls, tabs, format
  characters such as a zero-width space, and every space but the ASCII one, e.g.
  a no-break space) is disbelieved whole: the user is signed in with no groups;
- it is split at each ``,``, once; only ASCII spaces around a name are dropped,
  and empty names name no group;
- names are compared case-insensitively (:func:`fold`), but the compatibility
  look-alikes keep their case (the Kelvin sign, U+212A, does not become ``k``)
  and nothing outside ASCII is lowered into ASCII.

The user is checked and folded the same way. What no reader of the header can
tell apart is the proxy's own joining: a name that itself holds a comma, or
starts or ends with a space, arrives exactly like two names, or like the name
without the spaces. docs/operations.md says how to keep such names away from the admin groups."""

from __future__ import annotations

import unicodedata
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
    raw_user = request.headers.get(settings.identity_header, "").strip(" ")
    if not raw_user:
        return None
    if not peer_is_trusted_proxy(request):
        log.warning("identity_header_ignored", reason="peer is not a trusted proxy")
        return None
    if len(raw_user) > MAX_IDENTITY_CHARS or not raw_user.isprintable():
        log.warning("identity_header_ignored", reason="not a plausible identity")
        return None
    groups = group_names(request.headers.get(settings.groups_header, ""))
    if groups is None:
        log.warning("groups_header_ignored", reason="not a plausible list of groups")
        groups = frozenset()
    return Identity(fold(raw_user), groups)


def group_names(raw: str) -> frozenset[str] | None:
    """The groups of a groups header (module docstring), or None if it is not
    believable: then the user has no group."""
    if not raw.isprintable():
        return None
    names = (name.strip(" ") for name in raw.split(",")[:MAX_GROUPS])
    return frozenset(fold(name) for name in names if name)


def fold(name: str) -> str:
    """``name`` in lower case, character by character, except characters whose
    lower case could pass for another name's: compatibility look-alikes (not in
    NFKC form, such as the Kelvin sign) and characters outside ASCII that would
    lower into ASCII (the dotted capital I) stay as they are, so they match nothing
    that ``ADMIN_USERS`` or ``ADMIN_GROUPS`` names in plain letters."""
    return "".join(_fold_character(character) for character in name)


def _fold_character(character: str) -> str:
    lower = character.lower()
    if character.isascii():
        return lower
    if unicodedata.normalize("NFKC", character) != character:
        return character
    return character if any(c.isascii() for c in lower) else lower


def signed_in_name(request: web.Request) -> str | None:
    """For the pages' header: who the proxy says is signed in."""
    identity = signed_in(request)
    return None if identity is None else identity.user


def bearer_token(request: web.Request) -> str | None:
    """The value of ``Authorization: Bearer <value>``, or None for any other scheme."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
