"""Parsing and validating api request bodies and headers against the limits.

Every field is checked for type and range; unknown fields are refused, so a typo
in a client is a 400, not a silently ignored option."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from services.api.errors import ContentTooLarge, InvalidRequest
from services.protocol.content import TAG_BYTES, WRAPPED_BYTES, sealed_length
from services.protocol.content import VERSION as CONTENT_VERSION
from services.protocol.envelope import (
    ID_BYTES,
    LABEL_BYTES,
    NONCE_BYTES,
    VERSION,
    EnvelopeError,
    b64u_decode,
)
from services.server.appkeys import SETTINGS
from services.server.identity import bearer_token
from services.server.settings import Limits, SenderLimits
from services.store.contents import NewContent, NewLink, NewRecipient
from services.store.errors import SecretNotFound
from services.store.secrets import NewSecret

PROOF_BYTES = 32
VERIFIER_BYTES = 32
ID_CHARS = 22  # base64url of ID_BYTES (16) bytes
_MIN_CIPHERTEXT = 1 + NONCE_BYTES + 16


# JSON framing and base64url around the largest allowed ciphertext and label.
_CREATE_BODY_OVERHEAD = 64 * 1024


def segment_body_limit(limits: Limits) -> int:
    """The largest segment upload: one sealed segment, as raw bytes."""
    return limits.segment_size + TAG_BYTES


# A recipient's entry: proofs, a wrapped key and a sealed name, in base64url and JSON.
_RECIPIENT_BYTES = 1024


def create_body_limit(limits: Limits) -> int:
    """The largest create body: the largest v1 ciphertext, or a v2 content's segment 0,
    in base64url, its label, and its recipients."""
    largest = max(limits.max_ciphertext_bytes, segment_body_limit(limits))
    recipients = limits.max_recipients * (_RECIPIENT_BYTES + limits.max_label_bytes * 2)
    return (
        (largest * 4 + 2) // 3 + limits.max_label_bytes * 2 + recipients + (_CREATE_BODY_OVERHEAD)
    )


# Peek and reveal carry a claim and an unlock proof (about 120 bytes of JSON): a
# body larger than this is refused unread, so a flood of big bodies costs no memory.
PROOF_BODY_BYTES = 1024


async def _read_body(request: web.Request, content_type: str, limit: int) -> bytes:
    """The body, of ``content_type`` (else 415), within ``BODY_TIMEOUT`` (else 408),
    refused (413) as soon as it is known to be over ``limit`` bytes: from
    ``Content-Length`` before reading, or while reading a chunked one."""
    if request.content_type != content_type:
        raise InvalidRequest(f"The body must be {content_type}.", status=415)
    if (request.content_length or 0) > limit:
        raise web.HTTPRequestEntityTooLarge(limit, request.content_length or 0)
    if request.content.is_eof():  # it came with the headers: nothing to wait for
        whole = request.content.read_nowait()
        if len(whole) > limit:
            raise web.HTTPRequestEntityTooLarge(limit, len(whole))
        return whole
    body = bytearray()
    try:
        async with asyncio.timeout(request.config_dict[SETTINGS].body_timeout):
            async for chunk in request.content.iter_any():
                body += chunk
                if len(body) > limit:
                    raise web.HTTPRequestEntityTooLarge(limit, len(body))
    except TimeoutError:
        raise InvalidRequest("The body did not arrive in time.", status=408) from None
    return bytes(body)


async def segment_body(request: web.Request, limit: int) -> bytes:
    """A segment upload's body: raw bytes, at most ``limit``."""
    return await _read_body(request, "application/octet-stream", limit)


async def json_object(request: web.Request, allowed: set[str], limit: int) -> dict[str, Any]:
    """The body as a JSON object of ``allowed`` fields, at most ``limit`` bytes."""
    raw = await _read_body(request, "application/json", limit)
    try:
        body = orjson.loads(raw)  # nesting deeper than 1,024 levels is invalid too
    except ValueError:
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest("Unknown field.", field=unknown[0])
    return body


def binary(body: dict[str, Any], field: str, *, size: int | None = None) -> bytes:
    value = body.get(field)
    if not isinstance(value, str):
        raise InvalidRequest("Expected a base64url string.", field=field)
    try:
        data = b64u_decode(value)
    except EnvelopeError:
        raise InvalidRequest("Not valid base64url without padding.", field=field) from None
    if size is not None and len(data) != size:
        raise InvalidRequest(f"Must decode to exactly {size} bytes.", field=field)
    return data


def optional_binary(body: dict[str, Any], field: str, *, size: int | None = None) -> bytes | None:
    return None if body.get(field) is None else binary(body, field, size=size)


def integer(body: dict[str, Any], field: str, default: int, lo: int, hi: int) -> int:
    value = body.get(field, default)
    # JSON has numbers, not integers: 5.0 is the whole number 5, as JSON Schema says.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest("Expected a whole number.", field=field)
    if not lo <= value <= hi:
        raise InvalidRequest(f"Must be between {lo} and {hi}.", field=field)
    return value


def boolean(body: dict[str, Any], field: str, *, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidRequest("Expected true or false.", field=field)
    return value


def well_formed_id(value: str) -> bool:
    """Whether ``value`` is an id this service could have made (16 bytes, base64url)."""
    try:
        return len(value) == ID_CHARS and len(b64u_decode(value)) == ID_BYTES
    except EnvelopeError:
        return False


def secret_id(request: web.Request) -> str:
    """A well-formed id, or the same 404 as an unknown one."""
    value = request.match_info["id"]
    if not well_formed_id(value):
        raise SecretNotFound
    return value


def bearer_proof(request: web.Request, what: str) -> bytes:
    """A 32-byte token from ``Authorization: Bearer``; ``what`` names it in refusals."""
    token = bearer_token(request)
    if not token:
        raise InvalidRequest(
            f"A {what} token is required: Authorization: Bearer <token>.", status=401
        )
    try:
        proof = b64u_decode(token)
    except EnvelopeError:
        raise InvalidRequest(f"The {what} token is not valid base64url.", status=401) from None
    if len(proof) != PROOF_BYTES:
        raise InvalidRequest(f"The {what} token has the wrong length.", status=401)
    return proof


def manage_token(request: web.Request) -> bytes:
    return bearer_proof(request, "manage")


MAX_SEGMENT_INDEX = 2**31 - 1  # segment_count is a PostgreSQL integer


def segment_index(request: web.Request) -> int:
    """The path's segment index: a plain decimal number a content can have."""
    value = request.match_info["index"]
    if not value.isascii() or not value.isdigit() or int(value) > MAX_SEGMENT_INDEX:
        raise InvalidRequest("Not a segment index.", field="index")
    return int(value)


# The fields of a share link, in a create of either protocol.
_LINK_FIELDS = {
    "claim_verifier",
    "unlock_verifier",
    "manage_verifier",
    "label",
    "max_views",
    "max_attempts",
    "expires_in",
    "notify",
    "recipient_may_delete",
}
CREATE_FIELDS = {"ciphertext", *_LINK_FIELDS}
CREATE_CONTENT_FIELDS = {
    "segment_size",
    "segment_count",
    "sealed_bytes",
    "first_segment",
    "wrapped_key",
    "recipients",
    *_LINK_FIELDS,
}
# What each entry of a create's recipients holds; with recipients, these are not
# given at the top level.
_RECIPIENT_FIELDS = {"claim_verifier", "unlock_verifier", "wrapped_key", "max_views", "name"}
_PER_LINK = _RECIPIENT_FIELDS - {"name"}
MAX_NOTIFY = 10


def notify_endpoints(body: dict[str, Any], configured: set[str]) -> tuple[str, ...]:
    """The webhook endpoints, by name, that the sender wants told; only names the
    operator configured."""
    value = body.get("notify", [])
    if not isinstance(value, list) or len(value) > MAX_NOTIFY:
        raise InvalidRequest(f"Expected a list of up to {MAX_NOTIFY} names.", field="notify")
    if not all(isinstance(name, str) and name in configured for name in value):
        raise InvalidRequest("Not a notification endpoint of this service.", field="notify")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class LinkFields:
    """A share link's fields, checked: what a create of either protocol asks for."""

    claim_verifier: bytes
    unlock_verifier: bytes | None
    manage_verifier: bytes
    label: bytes | None
    max_views: int
    max_attempts: int
    expires_in: int
    notify: tuple[str, ...]
    recipient_may_delete: bool


def link_fields(
    body: dict[str, Any],
    limits: Limits,
    allowed: SenderLimits,
    endpoints: set[str] | frozenset[str],
) -> LinkFields:
    """The link's fields, once each has passed its check against the global limits
    and what this kind of sender is ``allowed``."""
    label = optional_binary(body, "label")
    if label is not None and len(label) > limits.max_label_bytes:
        raise InvalidRequest(f"The label is over {limits.max_label_bytes} bytes.", field="label")
    return LinkFields(
        claim_verifier=binary(body, "claim_verifier", size=VERIFIER_BYTES),
        unlock_verifier=optional_binary(body, "unlock_verifier", size=VERIFIER_BYTES),
        manage_verifier=binary(body, "manage_verifier", size=VERIFIER_BYTES),
        label=label,
        max_views=integer(body, "max_views", 1, 1, allowed.max_views),
        max_attempts=integer(body, "max_attempts", limits.max_attempts, 1, limits.max_attempts),
        expires_in=integer(
            body,
            "expires_in",
            min(limits.default_expires_in, allowed.max_expires_in),
            limits.min_expires_in,
            allowed.max_expires_in,
        ),
        notify=notify_endpoints(body, set(endpoints)),
        recipient_may_delete=boolean(body, "recipient_may_delete", default=False),
    )


def create_request(
    body: dict[str, Any],
    limits: Limits,
    allowed: SenderLimits,
    new_id: str,
    *,
    creator: str | None = None,
    endpoints: set[str] | frozenset[str] = frozenset(),
) -> NewSecret:
    """A protocol v1 secret to store, every field checked."""
    ciphertext = binary(body, "ciphertext")
    if len(ciphertext) > limits.max_ciphertext_bytes:
        raise InvalidRequest(
            f"The ciphertext is over {limits.max_ciphertext_bytes} bytes.",
            field="ciphertext",
            status=413,
        )
    if len(ciphertext) < _MIN_CIPHERTEXT or ciphertext[0] != VERSION:
        raise InvalidRequest("Not a protocol v1 envelope.", field="ciphertext")
    link = link_fields(body, limits, allowed, endpoints)
    # vars(), not asdict(), which deep-copies every field: these are immutable.
    return NewSecret(id=new_id, ciphertext=ciphertext, creator=creator, **vars(link))


def max_sealed_bytes(limits: Limits) -> int:
    """The most a content's segments may weigh: those of the largest content allowed."""
    return sealed_length(limits.max_content_bytes, limits.segment_size)


def create_content_request(
    body: dict[str, Any],
    limits: Limits,
    allowed: SenderLimits,
    new_ids: Iterator[str],
    upload_verifier: bytes,
    *,
    creator: str | None = None,
    endpoints: set[str] | frozenset[str] = frozenset(),
) -> tuple[NewContent, NewLink, tuple[NewRecipient, ...]]:
    """A protocol v2 content and its links to store, every field checked: its first
    link, and with ``recipients`` every recipient's (the first one's again). Whether
    the segments add up is the store's check (``burnafter_content_declared_v1``). The
    size is checked last, so a malformed field is a 400 whatever the size."""
    entries = _recipient_entries(body, limits)
    first = body if entries is None else {**body, **entries[0]}
    link = link_fields(first, limits, allowed, endpoints)
    wrapped_key = _wrapped_key(first)
    recipients = tuple(
        NewRecipient(
            id=next(new_ids),
            wrapped_key=_wrapped_key(entry),
            claim_verifier=binary(entry, "claim_verifier", size=VERIFIER_BYTES),
            unlock_verifier=optional_binary(entry, "unlock_verifier", size=VERIFIER_BYTES),
            max_views=integer(entry, "max_views", 1, 1, allowed.max_views),
            name=_sealed_name(entry),
        )
        for entry in entries or ()
    )
    sealed_bytes = integer(body, "sealed_bytes", 0, 1, 2**62)
    segment_size = integer(body, "segment_size", 0, 0, 2**31)
    if segment_size != limits.segment_size:
        raise InvalidRequest(f"Must be {limits.segment_size}.", field="segment_size")
    segment_count = integer(body, "segment_count", 0, 1, 2**31 - 1)
    content = NewContent(
        segment_size=segment_size,
        segment_count=segment_count,
        sealed_bytes=sealed_bytes,
        first_segment=binary(body, "first_segment"),
        upload_verifier=upload_verifier if segment_count > 1 else None,
        upload_expires_in=limits.upload_seconds if segment_count > 1 else 0,
    )
    if sealed_bytes > max_sealed_bytes(limits):
        raise ContentTooLarge(limits.max_content_bytes)
    first_id = recipients[0].id if recipients else next(new_ids)
    return (
        content,
        NewLink(id=first_id, wrapped_key=wrapped_key, creator=creator, **vars(link)),
        recipients,
    )


def _wrapped_key(fields: dict[str, Any]) -> bytes:
    wrapped_key = binary(fields, "wrapped_key", size=WRAPPED_BYTES)
    if wrapped_key[0] != CONTENT_VERSION:
        raise InvalidRequest("Not a protocol v2 wrapped key.", field="wrapped_key")
    return wrapped_key


def _recipient_entries(body: dict[str, Any], limits: Limits) -> list[dict[str, Any]] | None:
    """A create's ``recipients``, each an object of known fields; None when absent."""
    if "recipients" not in body:
        return None
    entries = body["recipients"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= limits.max_recipients:
        raise InvalidRequest(
            f"Expected a list of 1 to {limits.max_recipients} recipients.", field="recipients"
        )
    given = sorted(_PER_LINK & body.keys())
    if given:
        raise InvalidRequest("With recipients, this goes in each recipient.", field=given[0])
    for entry in entries:
        if not isinstance(entry, dict) or not entry.keys() <= _RECIPIENT_FIELDS:
            raise InvalidRequest(
                f"Each recipient is an object of {', '.join(sorted(_RECIPIENT_FIELDS))}.",
                field="recipients",
            )
    return entries


# A sealed name: version, nonce, a label's 256 padded bytes, tag. One size for every
# name, so a client that did not pad cannot leak a name's length.
SEALED_NAME_BYTES = 1 + NONCE_BYTES + LABEL_BYTES + 16


def _sealed_name(entry: dict[str, Any]) -> bytes | None:
    return optional_binary(entry, "name", size=SEALED_NAME_BYTES)
