"""Share links (``{base}/s/{id}#{key}``), receipt links (``{base}/r/{id}#{key}``), and a
request's fill links (``{base}/q/{id}#{fill key || public key}``) and collect links
(``{base}/c/{id}#{private key}``) (docs/protocol.md, "Requests").

The key rides in the fragment, which browsers and HTTP clients never send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

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


def parse_link(text: str, kind: LinkKind) -> Link:
    """Parse a share (``s``), receipt (``r``), fill (``q``) or collect (``c``) link; the
    base keeps any path prefix."""
    what = WHAT[kind]
    text = text.strip()
    if len(text) > MAX_LINK_CHARS:
        raise MalformedLink(f"that is not a {what} link: too long")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise MalformedLink(f"that is not a {what} link") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise MalformedLink(f"that is not a {what} link: it must be http(s)://host/{kind}/ID#KEY")
    prefix, _, tail = parts.path.rstrip("/").rpartition(f"/{kind}/")
    if not tail or "/" in tail:
        raise MalformedLink(f"that is not a {what} link: no /{kind}/ID in its path")
    try:
        id_ok = len(tail) == 22 and len(b64u_decode(tail)) == ID_BYTES
    except EnvelopeError:
        id_ok = False
    if not id_ok:
        raise MalformedLink(f"that is not a {what} link: the id is malformed")
    if not parts.fragment:
        raise MalformedLink(f"the {what} link has no key after '#': was it cut short?")
    try:
        key = b64u_decode(parts.fragment)
    except EnvelopeError:
        key = b""
    if len(key) != KEY_SIZES[kind]:
        raise MalformedLink(f"the key after '#' in the {what} link is damaged")
    return Link(f"{parts.scheme}://{parts.netloc}{prefix}", tail, key, kind)
