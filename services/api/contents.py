"""The handlers of protocol v2 contents: create with segment 0, upload the other
segments, finalize; and, after a reveal, download them with its grant.

Tokens travel in ``Authorization: Bearer``, never in a path or a query: proxies log
URLs. Segment requests are not rate limited per address: each carries a 256-bit
token, and a large file is many of them."""

from __future__ import annotations

import itertools
import os
from typing import Any

from aiohttp import web

from services.api.appkeys import SECRET_EVENTS
from services.api.errors import UploadRefused
from services.api.handlers import new_token, rate_limit, within_storage
from services.api.requests import (
    CREATE_CONTENT_FIELDS,
    bearer_proof,
    create_body_limit,
    create_content_request,
    json_object,
    segment_body,
    segment_body_limit,
    segment_index,
    well_formed_id,
)
from services.api.senders import permitted_sender
from services.api.wire import json_answer, timestamp
from services.protocol.envelope import ID_BYTES, b64u_encode
from services.server.appkeys import POOL, SETTINGS
from services.server.client_address import access_of
from services.store import contents
from services.store.contents import ContentCreated
from services.store.errors import GrantNotFound
from services.store.vocabulary import UploadOutcome


async def create_content(request: web.Request) -> web.Response:
    rate_limit(request, "create")
    sender = await permitted_sender(request)
    settings = request.config_dict[SETTINGS]
    body = await json_object(request, CREATE_CONTENT_FIELDS, create_body_limit(settings.limits))
    upload_token, upload_verifier = new_token()
    content, link, recipients = create_content_request(
        body,
        settings.limits,
        settings.limits_for(sender.kind),
        (b64u_encode(os.urandom(ID_BYTES)) for _ in itertools.count()),
        upload_verifier,
        creator=sender.actor,
        endpoints={hook.name for hook in settings.webhooks},
    )
    access, events = access_of(request), request.app[SECRET_EVENTS]
    created = await within_storage(
        request,
        sender,
        lambda cap, owner: cap.create_content(
            request.config_dict[POOL], content, link, access, owner, recipients
        ),
    )
    links = (
        [(0, link.id, link.max_views)]
        if not recipients
        else [(number, each.id, each.max_views) for number, each in enumerate(recipients)]
    )
    for number, link_id, max_views in links:
        events.created(link_id, content.sealed_bytes, max_views, access, sender.actor, number)
    events.segments_up(1, len(content.first_segment))
    return json_answer(
        {
            "id": link.id,
            "expires_at": timestamp(created.expires_at),
            "max_views": sum(max_views for _, _, max_views in links),
            "upload": upload_answer(upload_token, created),
            "links": [
                {"recipient": number, "id": link_id, "max_views": max_views}
                for number, link_id, max_views in links
            ],
        },
        status=201,
    )


def upload_answer(upload_token: bytes, created: ContentCreated) -> dict[str, Any] | None:
    """How to upload a content's other segments, for a create's answer (or a request's
    answer's); None when segment 0 is all of it, live at once."""
    if created.upload_expires_at is None:
        return None
    return {
        "token": b64u_encode(upload_token),
        "expires_at": timestamp(created.upload_expires_at),
        "received": 1,
    }


def _content_id(request: web.Request, absent: Exception) -> str:
    """A well-formed content id, or ``absent``: the answer of an unknown one."""
    value = request.match_info["id"]
    if not well_formed_id(value):
        raise absent
    return value


def _upload(request: web.Request) -> tuple[str, bytes]:
    """The content id and upload token of an upload request."""
    return _content_id(request, UploadRefused(UploadOutcome.NOT_FOUND, None)), bearer_proof(
        request, "upload"
    )


def _download(request: web.Request) -> tuple[str, bytes]:
    """The content id and download token of a download request."""
    return _content_id(request, GrantNotFound()), bearer_proof(request, "download")


def _uploaded(progress: contents.UploadProgress, *expected: UploadOutcome) -> int:
    """The segments received, when the store's answer is one of ``expected``."""
    if progress.outcome not in expected or progress.received is None:
        raise UploadRefused(progress.outcome, progress.received)
    return progress.received


async def put_segment(request: web.Request) -> web.Response:
    (content_id, token), index = _upload(request), segment_index(request)
    settings = request.config_dict[SETTINGS]
    data = await segment_body(request, segment_body_limit(settings.limits))
    progress = await contents.put_segment(request.config_dict[POOL], content_id, token, index, data)
    received = _uploaded(progress, UploadOutcome.STORED)
    request.app[SECRET_EVENTS].segments_up(1, len(data))
    return json_answer({"received": received})


async def upload_state(request: web.Request) -> web.Response:
    content_id, token = _upload(request)
    state = await contents.upload_state(request.config_dict[POOL], content_id, token)
    if state is None:
        raise UploadRefused(UploadOutcome.NOT_FOUND, None)
    return json_answer(
        {
            "received": state.received,
            "segment_count": state.segment_count,
            "expires_at": timestamp(state.upload_expires_at),
        }
    )


async def finalize(request: web.Request) -> web.Response:
    content_id, token = _upload(request)
    progress = await contents.finalize(request.config_dict[POOL], content_id, token)
    _uploaded(progress, UploadOutcome.LIVE)
    return json_answer({"state": "live"})


async def read_segment(request: web.Request) -> web.Response:
    (content_id, token), index = _download(request), segment_index(request)
    data = await contents.read_segment(request.config_dict[POOL], content_id, token, index)
    request.app[SECRET_EVENTS].segments_down(1, len(data))
    return web.Response(body=data, content_type="application/octet-stream")


async def downloaded(request: web.Request) -> web.Response:
    content_id, token = _download(request)
    await contents.complete_grant(request.config_dict[POOL], content_id, token)
    return web.Response(status=204)
