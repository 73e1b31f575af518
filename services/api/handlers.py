"""The v1 handlers: parse, call the store, shape the answer."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web

from services.api.abuse import StorageCap, client_key
from services.api.appkeys import OPENAPI, RATE_LIMITER, SECRET_EVENTS, STORAGE_CAP
from services.api.problems import refusal
from services.api.requests import (
    CREATE_FIELDS,
    PROOF_BODY_BYTES,
    PROOF_BYTES,
    binary,
    create_body_limit,
    create_request,
    integer,
    json_object,
    manage_token,
    max_sealed_bytes,
    optional_binary,
    secret_id,
)
from services.api.senders import ALLOWED_SENDERS, Sender, identify, own_address, permitted_sender
from services.api.wire import json_answer, timestamp, to_json
from services.protocol.envelope import ID_BYTES, KEY_BYTES, b64u_encode, verifier
from services.server.appkeys import POOL, SETTINGS
from services.server.client_address import access_of
from services.server.rate_limits import RateLimited
from services.store import contents, receipts, secrets
from services.store.errors import SenderQuotaFull, StorageFull


async def limits(request: web.Request) -> web.Response:
    """What this sender may ask for, so clients can offer only valid choices."""
    rate_limit(request, "peek")  # a read as cheap as a peek, and a token look-up
    settings = request.config_dict[SETTINGS]
    current, sender = settings.limits, await identify(request)
    allowed = settings.limits_for(sender.kind)
    return json_answer(
        {
            "max_ciphertext_bytes": current.max_ciphertext_bytes,
            "max_content_bytes": current.max_content_bytes,
            "segment_size": current.segment_size,
            "max_sealed_bytes": max_sealed_bytes(current),
            "max_views": allowed.max_views,
            "min_expires_in": current.min_expires_in,
            "max_expires_in": allowed.max_expires_in,
            "default_expires_in": min(current.default_expires_in, allowed.max_expires_in),
            "max_attempts": current.max_attempts,
            "max_recipients": current.max_recipients,
            "sender": sender.kind,
            "may_create": sender.kind in ALLOWED_SENDERS[settings.create_policy],
            "may_ask": sender.kind in ALLOWED_SENDERS[settings.request_policy],
            "notify_endpoints": [hook.name for hook in settings.webhooks],
            "email_notices": own_address(settings, sender) is not None,
        }
    )


def new_token() -> tuple[bytes, bytes]:
    """A fresh upload or download token, and the verifier the store keeps of it."""
    token = os.urandom(KEY_BYTES)
    return token, verifier(token)


def rate_limit(request: web.Request, action: str) -> None:
    try:
        request.app[RATE_LIMITER].take(action, client_key(request))
    except RateLimited:
        request.app[SECRET_EVENTS].rate_limited(action)
        raise


class Stored(Protocol):
    @property
    def stored_bytes(self) -> int | None:
        """All secrets' bytes, when they are counted."""


S = TypeVar("S", bound=Stored)


async def within_storage(
    request: web.Request, sender: Sender, store: Callable[[StorageCap, str], Awaitable[S]]
) -> S:
    """Store a secret through the storage cap and the sender's quota, counting a
    refusal (507) or the bytes then held."""
    events = request.app[SECRET_EVENTS]
    # An anonymous sender's quota is its address's (as rate limits count it).
    quota_owner = sender.actor or f"address {client_key(request)}"
    try:
        created = await store(request.app[STORAGE_CAP], quota_owner)
    except (StorageFull, SenderQuotaFull) as refused:
        events.storage_full(type(refused) is SenderQuotaFull)
        raise
    if created.stored_bytes is not None:
        events.stored(created.stored_bytes)
    return created


async def create_secret(request: web.Request) -> web.Response:
    rate_limit(request, "create")
    sender = await permitted_sender(request)
    config = request.config_dict  # a new ChainMap on every read
    settings, pool = config[SETTINGS], config[POOL]
    body = await json_object(request, CREATE_FIELDS, create_body_limit(settings.limits))
    new = create_request(
        body,
        settings.limits,
        settings.limits_for(sender.kind),
        b64u_encode(os.urandom(ID_BYTES)),
        creator=sender.actor,
        endpoints={hook.name for hook in settings.webhooks},
    )
    access = access_of(request)
    created = await within_storage(
        request,
        sender,
        lambda cap, owner: cap.create(pool, new, access, owner),
    )
    request.app[SECRET_EVENTS].created(
        new.id, len(new.ciphertext), new.max_views, access, sender.actor
    )
    return json_answer(
        {"id": new.id, "expires_at": timestamp(created.expires_at), "max_views": new.max_views},
        status=201,
    )


async def peek_secret(request: web.Request) -> web.Response:
    rate_limit(request, "peek")
    the_id = secret_id(request)
    body = await json_object(request, {"claim"}, PROOF_BODY_BYTES)
    claim = binary(body, "claim", size=PROOF_BYTES)
    found = await secrets.peek(request.config_dict[POOL], the_id, claim)
    return json_answer(
        {
            "passphrase_required": found.passphrase_required,
            "views_left": found.views_left,
            "expires_at": timestamp(found.expires_at),
            "version": found.version,
            "sealed_bytes": found.sealed_bytes,
        }
    )


async def reveal_secret(request: web.Request) -> web.Response:
    rate_limit(request, "reveal")
    the_id = secret_id(request)
    claim, unlock = _proofs(await json_object(request, {"claim", "unlock"}, PROOF_BODY_BYTES))
    access = access_of(request)
    grant_token, grant_verifier = new_token()  # kept only if the content needs one
    config = request.config_dict  # a new ChainMap on every read
    result = await contents.reveal(
        config[POOL],
        the_id,
        claim,
        unlock,
        access,
        grant_verifier,
        config[SETTINGS].limits.download_seconds,
    )
    request.app[SECRET_EVENTS].reveal(the_id, result, access)
    if isinstance(result, secrets.Refused):
        return refusal(result)
    if isinstance(result, secrets.Revealed):
        return json_answer(
            {
                "version": 1,
                "ciphertext": b64u_encode(result.ciphertext),
                "views_left": result.views_left,
                "recipient_may_delete": result.recipient_may_delete,
            }
        )
    download = None
    if result.grant_expires_at is not None:
        download = {
            "token": b64u_encode(grant_token),
            "expires_at": timestamp(result.grant_expires_at),
        }
    request.app[SECRET_EVENTS].segments_down(1, len(result.first_segment))
    return json_answer(
        {
            "version": 2,
            "content_id": result.content_id,
            "wrapped_key": b64u_encode(result.wrapped_key),
            "segment_size": result.segment_size,
            "segment_count": result.segment_count,
            "sealed_bytes": result.sealed_bytes,
            "first_segment": b64u_encode(result.first_segment),
            "views_left": result.views_left,
            "recipient_may_delete": result.recipient_may_delete,
            "download": download,
        }
    )


async def delete_secret(request: web.Request) -> web.Response:
    """The recipient's delete, where the sender allowed it: the reveal's proofs."""
    rate_limit(request, "reveal")
    the_id = secret_id(request)
    claim, unlock = _proofs(await json_object(request, {"claim", "unlock"}, PROOF_BODY_BYTES))
    access = access_of(request)
    refused = await secrets.delete_by_recipient(
        request.config_dict[POOL], the_id, claim, unlock, access
    )
    request.app[SECRET_EVENTS].deleted_by_recipient(the_id, refused, access)
    if refused is not None:
        return refusal(refused)
    return web.Response(status=204)


def _proofs(body: dict[str, Any]) -> tuple[bytes, bytes | None]:
    """The claim, and the unlock proof when given."""
    return binary(body, "claim", size=PROOF_BYTES), optional_binary(
        body, "unlock", size=PROOF_BYTES
    )


async def read_receipt(request: web.Request) -> web.Response:
    rate_limit(request, "receipt")
    the_id = secret_id(request)
    receipt = await receipts.read_receipt(request.config_dict[POOL], the_id, manage_token(request))
    return json_answer(to_json(receipt))


async def revoke_secret(request: web.Request) -> web.Response:
    """v1's revoke (``DELETE /secrets/{id}``): every link of the share still live."""
    rate_limit(request, "receipt")
    await _revoke(request, secret_id(request), None)
    return web.Response(status=204)


async def revoke_share(request: web.Request) -> web.Response:
    """``POST /receipts/{id}/revoke``: every link of the share still live, or the one
    of the recipient numbered in the body."""
    rate_limit(request, "receipt")
    the_id = secret_id(request)
    recipient = None
    if request.can_read_body:
        body = await json_object(request, {"recipient"}, PROOF_BODY_BYTES)
        # No number: every link, as without a body. A number the share does not have
        # is the store's answer to give: 404.
        if "recipient" in body:
            recipient = integer(body, "recipient", 0, 0, 2**31 - 1)
    await _revoke(request, the_id, recipient)
    return web.Response(status=204)


async def _revoke(request: web.Request, share_id: str, recipient: int | None) -> None:
    access = access_of(request)
    revoked = await receipts.revoke(
        request.config_dict[POOL], share_id, manage_token(request), access, recipient
    )
    for number, link_id in revoked:
        request.app[SECRET_EVENTS].revoked(link_id, access, number)


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")
