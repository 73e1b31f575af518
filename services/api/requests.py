"""Parsing and validating api request bodies and headers against the limits.

Every field is checked for type and range; unknown fields are refused, so a typo
in a client is a 400, not a silently ignored option."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from services.api.errors import InvalidRequest
from services.protocol.envelope import ID_BYTES, NONCE_BYTES, VERSION, EnvelopeError, b64u_decode
from services.server.appkeys import SETTINGS
from services.server.identity import bearer_token
from services.server.settings import Limits, SenderLimits
from services.store.errors import SecretNotFound
from services.store.secrets import NewSecret

PROOF_BYTES = 32
VERIFIER_BYTES = 32
ID_CHARS = 22  # base64url of ID_BYTES (16) bytes
_MIN_CIPHERTEXT = 1 + NONCE_BYTES + 16


# JSON framing and base64url around the largest allowed ciphertext and label.
_CREATE_BODY_OVERHEAD = 64 * 1024


def create_body_limit(limits: Limits) -> int:
    """The largest create body: the largest ciphertext, in base64url, and its label."""
    return (
        (limits.max_ciphertext_bytes * 4 + 2) // 3
        + limits.max_label_bytes * 2
        + _CREATE_BODY_OVERHEAD
    )


# Peek and reveal carry a claim and an unlock proof (about 120 bytes of JSON): a
# body larger than this is refused unread, so a flood of big bodies costs no memory.
PROOF_BODY_BYTES = 1024


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to be over ``limit`` bytes: from
    ``Content-Length`` before reading, or while reading a chunked one."""
    if (request.content_length or 0) > limit:
        raise web.HTTPRequestEntityTooLarge(limit, request.content_length or 0)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise web.HTTPRequestEntityTooLarge(limit, len(body))
    return bytes(body)


async def json_object(request: web.Request, allowed: set[str], limit: int) -> dict[str, Any]:
    """The body as a JSON object of ``allowed`` fields, at most ``limit`` bytes."""
    if request.content_type != "application/json":
        raise InvalidRequest("The body must be application/json.", status=415)
    try:
        async with asyncio.timeout(request.config_dict[SETTINGS].body_timeout):
            raw = await _read_body(request, limit)
    except TimeoutError:
        raise InvalidRequest("The body did not arrive in time.", status=408) from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The body is not valid JSON.") from None
    except RecursionError:  # nesting deeper than the parser goes: no body of ours nests
        raise InvalidRequest("The body is nested too deeply.") from None
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


def secret_id(request: web.Request) -> str:
    """A well-formed id, or the same 404 as an unknown one."""
    value = request.match_info["id"]
    try:
        if len(value) != ID_CHARS or len(b64u_decode(value)) != ID_BYTES:
            raise SecretNotFound
    except EnvelopeError:
        raise SecretNotFound from None
    return value


def manage_token(request: web.Request) -> bytes:
    token = bearer_token(request)
    if not token:
        raise InvalidRequest(
            "A manage token is required: Authorization: Bearer <token>.", status=401
        )
    try:
        manage = b64u_decode(token)
    except EnvelopeError:
        raise InvalidRequest("The manage token is not valid base64url.", status=401) from None
    if len(manage) != PROOF_BYTES:
        raise InvalidRequest("The manage token has the wrong length.", status=401)
    return manage


CREATE_FIELDS = {
    "ciphertext",
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


def create_request(
    body: dict[str, Any],
    limits: Limits,
    allowed: SenderLimits,
    new_id: str,
    *,
    creator: str | None = None,
    endpoints: set[str] | frozenset[str] = frozenset(),
) -> NewSecret:
    """The secret to store, once every field has passed its check against the
    global limits and what this kind of sender is ``allowed``."""
    ciphertext = binary(body, "ciphertext")
    if len(ciphertext) > limits.max_ciphertext_bytes:
        raise InvalidRequest(
            f"The ciphertext is over {limits.max_ciphertext_bytes} bytes.",
            field="ciphertext",
            status=413,
        )
    if len(ciphertext) < _MIN_CIPHERTEXT or ciphertext[0] != VERSION:
        raise InvalidRequest("Not a protocol v1 envelope.", field="ciphertext")
    label = optional_binary(body, "label")
    if label is not None and len(label) > limits.max_label_bytes:
        raise InvalidRequest(f"The label is over {limits.max_label_bytes} bytes.", field="label")
    return NewSecret(
        id=new_id,
        ciphertext=ciphertext,
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
        creator=creator,
        notify=notify_endpoints(body, set(endpoints)),
        recipient_may_delete=boolean(body, "recipient_may_delete", default=False),
    )
