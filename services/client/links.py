"""Share links (``{base}/s/{id}#{key}``), receipt links (``{base}/r/{id}#{key}``), and a
request's fill links (``{base}/q/{id}#{fill key || public key}``) and collect links
(``{base}/c/{id}#{private key}``) (docs/protocol.md, "Requests").

The key rides in the fragment, which browsers and HTTP clients never send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from services.client.translated import N_, _
from services.protocol.envelope import ID_BYTES, KEY_BYTES, EnvelopeError, b64u_decode, b64u_encode
from services.protocol.request import PUBLIC_BYTES

LinkKind = Literal["s", "r", "q", "c"]
WHAT: dict[LinkKind, str] = {"s": "share", "r": "receipt", "q": "fill", "c": "collect"}
KEY_SIZES: dict[LinkKind, int] = {"s": KEY_BYTES, "r": KEY_BYTES, "q": KEY_BYTES + PUBLIC_BYTES,
                                  "c": KEY_BYTES}  # fmt: skip
MAX_LINK_CHARS = 4096


class MalformedLink(ValueError):
    """Not a burnafter link of the expected kind; the message never repeats the key."""


@dataclass(frozen=True)
class Link:
    base: str
    id: str
    key: bytes
    kind: LinkKind

    def __str__(self) -> str:
        return f"{self.base}/{self.kind}/{self.id}#{b64u_encode(self.key)}"


def make_link(base: str, kind: LinkKind, secret_id: str, key: bytes) -> Link:
    return Link(base.rstrip("/"), secret_id, key, kind)


# Whole sentences for each kind of link: a language may inflect the link's name.
_NOT_A: dict[LinkKind, str] = {
    "s": N_("that is not a share link"),
    "r": N_("that is not a receipt link"),
    "q": N_("that is not a fill link"),
    "c": N_("that is not a collect link"),
}
_NO_KEY: dict[LinkKind, str] = {
    "s": N_("the share link has no key after '#': was it cut short?"),
    "r": N_("the receipt link has no key after '#': was it cut short?"),
    "q": N_("the fill link has no key after '#': was it cut short?"),
    "c": N_("the collect link has no key after '#': was it cut short?"),
}
_DAMAGED_KEY: dict[LinkKind, str] = {
    "s": N_("the key after '#' in the share link is damaged"),
    "r": N_("the key after '#' in the receipt link is damaged"),
    "q": N_("the key after '#' in the fill link is damaged"),
    "c": N_("the key after '#' in the collect link is damaged"),
}


def refused(refusal: str, reason: str) -> str:
    """A refusal and its reason, each translated: ``that is not a share link: too long``."""
    # Translators: a refusal ("that is not a share link") and why ("it is not text").
    return _("%(refusal)s: %(reason)s") % {"refusal": refusal, "reason": reason}


def not_a(kind: LinkKind, reason: str) -> MalformedLink:
    return MalformedLink(refused(_(_NOT_A[kind]), reason))


def parse_link(text: str, kind: LinkKind) -> Link:
    """Parse a share (``s``), receipt (``r``), fill (``q``) or collect (``c``) link; the
    base keeps any path prefix."""
    text = text.strip()
    if len(text) > MAX_LINK_CHARS:
        # Translators: why a text is not a link.
        raise not_a(kind, _("too long"))
    try:
        parts = urlsplit(text)
    except ValueError:
        raise MalformedLink(_(_NOT_A[kind])) from None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        # Translators: why a text is not a link; %(kind)s is a letter of the link's path.
        raise not_a(kind, _("it must be http(s)://host/%(kind)s/ID#KEY") % {"kind": kind})
    prefix, _slash, tail = parts.path.rstrip("/").rpartition(f"/{kind}/")
    if not tail or "/" in tail:
        # Translators: why a text is not a link; %(kind)s is a letter of the link's path.
        raise not_a(kind, _("no /%(kind)s/ID in its path") % {"kind": kind})
    try:
        id_ok = len(tail) == 22 and len(b64u_decode(tail)) == ID_BYTES
    except EnvelopeError:
        id_ok = False
    if not id_ok:
        # Translators: why a text is not a link.
        raise not_a(kind, _("the id is malformed"))
    if not parts.fragment:
        raise MalformedLink(_(_NO_KEY[kind]))
    try:
        key = b64u_decode(parts.fragment)
    except EnvelopeError:
        key = b""
    if len(key) != KEY_SIZES[kind]:
        raise MalformedLink(_(_DAMAGED_KEY[kind]))
    return Link(f"{parts.scheme}://{parts.netloc}{prefix}", tail, key, kind)
