"""The handlers of requests (protocol v2, docs/protocol.md "Requests"): ask, read a
request with its fill link, answer it once, and the asker's view.

The answer is a v2 content: its segments after the first go up as any content's
(``/contents/{id}/segments``, with the upload token the answer gives), and the
asker collects it as a v2 link whose id is the request's."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from aiohttp import web

from services.api.abuse import client_key
from services.api.appkeys import SECRET_EVENTS, STORAGE_CAP
from services.api.contents import upload_answer
from services.api.errors import ContentTooLarge, InvalidRequest
from services.api.handlers import new_token, rate_limit
from services.api.requests import (
    PROOF_BODY_BYTES,
    PROOF_BYTES,
    VERIFIER_BYTES,
    binary,
    boolean,
    integer,
    json_object,
    manage_token,
    notify_endpoints,
    optional_binary,
    secret_id,
)
from services.api.senders import Sender, own_address, permitted_sender
from services.api.wire import json_answer, timestamp, to_json
from services.i18n import LANGUAGES, SOURCE
from services.i18n.choice import chosen_language
from services.protocol.content import sealed_length
from services.protocol.envelope import ID_BYTES, b64u_encode
from services.protocol.request import WRAPPED_ANSWER_BYTES
from services.server.appkeys import POOL, SETTINGS
from services.server.client_address import access_of
from services.server.settings import Settings
from services.store import secret_requests
from services.store.contents import NewContent
from services.store.errors import AnswerTooLarge

ASK_FIELDS = {
    "fill_verifier",
    "note",
    "files_allowed",
    "max_content_bytes",
    "answer",
    "manage_verifier",
    "expires_in",
    "notify",
    "email",
}
_ANSWER_FIELDS = {"claim_verifier", "unlock_verifier", "max_views", "expires_in"}
ANSWER_FIELDS = {
    "claim",
    "segment_size",
    "segment_count",
    "sealed_bytes",
    "first_segment",
    "wrapped_key",
}
# A sealed note: version, nonce, the padded note (at most Padmé of 2000 bytes), tag.
MAX_NOTE_BYTES = 4096
_ASK_BODY_BYTES = 16 * 1024


async def ask(request: web.Request) -> web.Response:
    rate_limit(request, "create")
    sender = await permitted_sender(request, asking=True)
    settings = request.config_dict[SETTINGS]
    limits, allowed = settings.limits, settings.limits_for(sender.kind)
    body = await json_object(request, ASK_FIELDS, _ASK_BODY_BYTES)
    answer = body.get("answer")
    if not isinstance(answer, dict) or not answer.keys() <= _ANSWER_FIELDS:
        raise InvalidRequest(f"An object of {', '.join(sorted(_ANSWER_FIELDS))}.", field="answer")
    note = optional_binary(body, "note")
    if note is not None and len(note) > MAX_NOTE_BYTES:
        raise InvalidRequest(f"The note is over {MAX_NOTE_BYTES} bytes.", field="note")
    max_content = integer(body, "max_content_bytes", limits.max_content_bytes, 1,
                          limits.max_content_bytes)  # fmt: skip
    expires = (limits.min_expires_in, allowed.max_expires_in)
    default_expires = min(limits.default_expires_in, allowed.max_expires_in)
    cap = request.app[STORAGE_CAP]
    new = secret_requests.NewRequest(
        id=b64u_encode(os.urandom(ID_BYTES)),
        fill_verifier=binary(body, "fill_verifier", size=VERIFIER_BYTES),
        note=note,
        files_allowed=boolean(body, "files_allowed", default=True),
        max_content_bytes=max_content,
        max_sealed_bytes=sealed_length(max_content, limits.segment_size),
        answer_claim_verifier=binary(answer, "claim_verifier", size=VERIFIER_BYTES),
        answer_unlock_verifier=optional_binary(answer, "unlock_verifier", size=VERIFIER_BYTES),
        answer_max_views=integer(answer, "max_views", 1, 1, allowed.max_views),
        answer_expires_in=integer(answer, "expires_in", default_expires, *expires),
        manage_verifier=binary(body, "manage_verifier", size=VERIFIER_BYTES),
        expires_in=integer(body, "expires_in", default_expires, *expires),
        creator=sender.actor,
        notify=notify_endpoints(body, {hook.name for hook in settings.webhooks}),
        notify_email=(address := _email_to(body, settings, sender)),
        notify_language=_email_language(request) if address else None,
    )
    quota_owner = sender.actor or f"address {client_key(request)}"
    expires_at = await secret_requests.ask(
        request.config_dict[POOL], new, cap.quota_key(quota_owner)
    )
    request.app[SECRET_EVENTS].asked(new.id, access_of(request), sender.actor)
    return json_answer({"id": new.id, "expires_at": timestamp(expires_at)}, status=201)


def _email_to(body: dict[str, Any], settings: Settings, sender: Sender) -> str | None:
    """``"email": true`` asks for an email once the request is answered: to the asker's
    own signed-in address (``senders.own_address``), the only one it may go to."""
    if not boolean(body, "email", default=False):
        return None
    address = own_address(settings, sender)
    if address is None:
        raise InvalidRequest(
            "Email notices go only to a signed-in user's own address, where the operator "
            "configured them.",
            field="email",
        )
    return address


def _email_language(request: web.Request) -> str:
    """The email's language: the one the asker's page is in (the switcher's cookie,
    else the browser's ``Accept-Language``, which its calls to the api carry too), as
    one of our tags, never what the browser sent."""
    language = chosen_language(request)
    return language.tag if LANGUAGES.get(language.tag) == language else SOURCE.tag


async def open_request(request: web.Request) -> web.Response:
    """What a fill link's holder reads: the sealed note and what the asker allows."""
    rate_limit(request, "peek")
    the_id = secret_id(request)
    body = await json_object(request, {"claim"}, PROOF_BODY_BYTES)
    claim = binary(body, "claim", size=PROOF_BYTES)
    found = await secret_requests.open_request(request.config_dict[POOL], the_id, claim)
    request.app[SECRET_EVENTS].request_opened(the_id, access_of(request))
    return json_answer(
        {
            "note": None if found.note is None else b64u_encode(found.note),
            "files_allowed": found.files_allowed,
            "max_content_bytes": found.max_content_bytes,
            "expires_at": timestamp(found.expires_at),
            # What the answer is sealed in: the responder may have no account, and
            # behind sign-on GET /limits is for those who have one.
            "segment_size": request.config_dict[SETTINGS].limits.segment_size,
        }
    )


async def answer_request(request: web.Request) -> web.Response:
    """The one answer: a v2 content sealed to the asker, its segment 0 inline."""
    rate_limit(request, "create")
    settings = request.config_dict[SETTINGS]
    limits = settings.limits
    the_id = secret_id(request)
    body = await json_object(request, ANSWER_FIELDS, _answer_body_limit(limits.segment_size))
    claim = binary(body, "claim", size=PROOF_BYTES)
    content, wrapped_key = _answer_content(body, limits.segment_size, limits.upload_seconds)
    upload_token, upload_verifier = new_token()
    if content.segment_count > 1:
        content = dataclasses.replace(content, upload_verifier=upload_verifier)
    access = access_of(request)
    try:
        created = await request.app[STORAGE_CAP].answer_request(
            request.config_dict[POOL],
            the_id,
            claim,
            content,
            wrapped_key,
            limits,
            access,
        )
    except AnswerTooLarge as refused:
        raise ContentTooLarge(refused.limit) from None
    events = request.app[SECRET_EVENTS]
    events.answered(the_id, content.sealed_bytes, access)
    events.segments_up(1, len(content.first_segment))
    return json_answer(
        {
            "id": the_id,
            "expires_at": timestamp(created.expires_at),
            "upload": upload_answer(upload_token, created),
        },
        status=201,
    )


def _answer_body_limit(segment_size: int) -> int:
    return (segment_size + 64) * 4 // 3 + 4096


def _answer_content(
    body: dict[str, Any], segment_size: int, upload_seconds: int
) -> tuple[NewContent, bytes]:
    wrapped_key = binary(body, "wrapped_key", size=WRAPPED_ANSWER_BYTES)
    if integer(body, "segment_size", 0, 0, 2**31) != segment_size:
        raise InvalidRequest(f"Must be {segment_size}.", field="segment_size")
    segment_count = integer(body, "segment_count", 0, 1, 2**31 - 1)
    return (
        NewContent(
            segment_size=segment_size,
            segment_count=segment_count,
            sealed_bytes=integer(body, "sealed_bytes", 0, 1, 2**62),
            first_segment=binary(body, "first_segment"),
            upload_expires_in=upload_seconds if segment_count > 1 else 0,
        ),
        wrapped_key,
    )


async def read_request(request: web.Request) -> web.Response:
    """The asker's view, with the collect link's manage token."""
    rate_limit(request, "receipt")
    the_id = secret_id(request)
    state = await secret_requests.read_request(
        request.config_dict[POOL], the_id, manage_token(request)
    )
    return json_answer(to_json(state))
