"""The v1 handlers: parse, call the store, shape the answer."""

from __future__ import annotations

import os
from datetime import datetime

from aiohttp import web

from services.api.abuse import (
    RATE_LIMITER,
    STORAGE_CAP,
    RateLimited,
    StorageFull,
    client_key,
)
from services.api.events import SECRET_EVENTS
from services.api.requests import (
    CREATE_FIELDS,
    PROOF_BYTES,
    binary,
    create_request,
    json_object,
    manage_token,
    optional_binary,
    secret_id,
)
from services.api.senders import ALLOWED_SENDERS, identify, permitted_sender
from services.common import store
from services.common.client_address import access_of
from services.common.envelope import ID_BYTES, b64u_encode
from services.common.errors import PassphraseRequired, SecretNotFound, WrongPassphrase
from services.common.keys import POOL, SETTINGS


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


async def limits(request: web.Request) -> web.Response:
    """What this sender may ask for, so clients can offer only valid choices."""
    settings = request.config_dict[SETTINGS]
    current, sender = settings.limits, await identify(request)
    allowed = settings.limits_for(sender.kind)
    return web.json_response(
        {
            "max_ciphertext_bytes": current.max_ciphertext_bytes,
            "max_views": allowed.max_views,
            "min_expires_in": current.min_expires_in,
            "max_expires_in": allowed.max_expires_in,
            "default_expires_in": min(current.default_expires_in, allowed.max_expires_in),
            "max_attempts": current.max_attempts,
            "sender": sender.kind,
            "may_create": sender.kind in ALLOWED_SENDERS[settings.create_policy],
            "notify_endpoints": [hook.name for hook in settings.webhooks],
        }
    )


def _rate_limit(request: web.Request, action: str) -> None:
    try:
        request.app[RATE_LIMITER].take(action, client_key(request))
    except RateLimited:
        request.app[SECRET_EVENTS].rate_limited(action)
        raise


async def _reserve_storage(request: web.Request, size: int) -> None:
    cap, events = request.app[STORAGE_CAP], request.app[SECRET_EVENTS]
    try:
        await cap.reserve(request.config_dict[POOL], size)
    except StorageFull:
        events.storage_full()
        raise
    events.stored(cap.used)


async def create_secret(request: web.Request) -> web.Response:
    _rate_limit(request, "create")
    sender = await permitted_sender(request)
    body = await json_object(request, CREATE_FIELDS)
    settings = request.config_dict[SETTINGS]
    new = create_request(
        body,
        settings.limits,
        settings.limits_for(sender.kind),
        b64u_encode(os.urandom(ID_BYTES)),
        creator=sender.actor,
        endpoints={hook.name for hook in settings.webhooks},
    )
    await _reserve_storage(request, len(new.ciphertext))
    access = access_of(request)
    expires_at = await store.create_secret(request.config_dict[POOL], new, access)
    request.app[SECRET_EVENTS].created(
        new.id, len(new.ciphertext), new.max_views, access, sender.actor
    )
    return web.json_response(
        {"id": new.id, "expires_at": _timestamp(expires_at), "max_views": new.max_views},
        status=201,
    )


async def peek_secret(request: web.Request) -> web.Response:
    _rate_limit(request, "peek")
    the_id = secret_id(request)
    body = await json_object(request, {"claim"})
    claim = binary(body, "claim", size=PROOF_BYTES)
    found = await store.peek(request.config_dict[POOL], the_id, claim)
    return web.json_response(
        {
            "passphrase_required": found.passphrase_required,
            "views_left": found.views_left,
            "expires_at": _timestamp(found.expires_at),
        }
    )


async def reveal_secret(request: web.Request) -> web.Response:
    _rate_limit(request, "reveal")
    the_id = secret_id(request)
    body = await json_object(request, {"claim", "unlock"})
    claim = binary(body, "claim", size=PROOF_BYTES)
    unlock = optional_binary(body, "unlock", size=PROOF_BYTES)
    access, events = access_of(request), request.app[SECRET_EVENTS]
    try:
        revealed = await store.reveal(request.config_dict[POOL], the_id, claim, unlock, access)
    except SecretNotFound:
        events.not_found()
        raise
    except PassphraseRequired:
        events.passphrase_required()
        raise
    except WrongPassphrase as exc:
        events.unlock_failed(the_id, exc.attempts_left, access)
        raise
    events.viewed(the_id, revealed.views_left, access)
    return web.json_response(
        {"ciphertext": b64u_encode(revealed.ciphertext), "views_left": revealed.views_left}
    )


async def read_receipt(request: web.Request) -> web.Response:
    the_id = secret_id(request)
    receipt = await store.read_receipt(request.config_dict[POOL], the_id, manage_token(request))
    return web.json_response(
        {
            "id": receipt.id,
            "state": receipt.state,
            "label": None if receipt.label is None else b64u_encode(receipt.label),
            "max_views": receipt.max_views,
            "views": receipt.views,
            "max_attempts": receipt.max_attempts,
            "failed_attempts": receipt.failed_attempts,
            "passphrase": receipt.passphrase,
            "created_at": _timestamp(receipt.created_at),
            "expires_at": _timestamp(receipt.expires_at),
            "ended_at": _timestamp(receipt.ended_at),
            "events": [
                {
                    "at": _timestamp(event.at),
                    "event": event.event,
                    "client_address": event.client_address,
                    "user_agent": event.user_agent,
                }
                for event in receipt.events
            ],
            "notify": list(receipt.notify),
            "notifications": [
                {
                    "endpoint": sent.endpoint,
                    "event": sent.event,
                    "state": sent.state,
                    "attempts": sent.attempts,
                    "occurred_at": _timestamp(sent.occurred_at),
                    "delivered_at": _timestamp(sent.delivered_at),
                }
                for sent in receipt.notifications
            ],
        }
    )


async def revoke_secret(request: web.Request) -> web.Response:
    the_id = secret_id(request)
    access = access_of(request)
    await store.revoke(request.config_dict[POOL], the_id, manage_token(request), access)
    request.app[SECRET_EVENTS].revoked(the_id, access)
    return web.Response(status=204)


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


OPENAPI = web.AppKey("openapi", bytes)
