"""Requests (docs/protocol.md, "Requests"): the asker asks for a secret and gets a
fill link to send and a collect link to keep; the responder opens the request with
the fill link and answers it once, as a v2 content sealed to the asker's public key;
the asker collects the answer with the collect link.

Every key is made and used here: the server sees the fill claim, the sealed note,
the sealed answer, its content key wrapped to the asker, and verifiers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.client import contents
from services.client.api_client import Api, ApiError, ClientError, Progress, claim_fields
from services.client.contents import ContentFile, Opened, Sink
from services.client.links import Link, make_link
from services.client.translated import N_, _
from services.protocol import content, envelope, request
from services.protocol.envelope import KEY_BYTES, EnvelopeError, b64u_decode, b64u_encode


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Asked:
    id: str
    fill_link: Link  # for the responder: it answers, it never opens the answer
    collect_link: Link  # the asker's own: it opens the answer
    expires_at: str  # until when the request may be answered


@dataclass(frozen=True)
class AskedFor:
    """What a fill link's holder reads: the asker's note and what the asker allows."""

    note: str
    files_allowed: bool
    max_content_bytes: int
    expires_at: str
    segment_size: int  # what the answer is sealed in


@dataclass(frozen=True)
class Answered:
    id: str
    expires_at: str  # until when the asker may collect the answer


# Why a collect link finds no answer, by the request's state.
_UNANSWERED_WORDS = {
    "open": N_(
        "not answered yet: the request is still open; try again once it is answered "
        "(`burnafter status` shows when)"
    ),
    "uploading": N_("answered, and the answer is still being uploaded: try again in a moment"),
    "expired": N_("the request expired unanswered: there is nothing to collect"),
    "answered": N_(
        "the answer is gone: it was opened already as many times as it could be, or it expired"
    ),
}


class Unanswered(ClientError):
    """A collect link whose answer is not there: the request is ``open`` (not answered
    yet), its answer ``uploading`` (not all there yet), ``expired`` unanswered, or
    ``answered`` and its answer gone (opened as many times as it could be, or
    expired)."""

    def __init__(self, state: str) -> None:
        if state in _UNANSWERED_WORDS:
            message = _(_UNANSWERED_WORDS[state])
        else:
            # Translators: %(state)s is the request's state as the server names it.
            message = _("there is no answer to collect (%(state)s)") % {"state": state}
        super().__init__(message)
        self.state = state


async def ask(
    api: Api,
    note: str = "",
    *,
    files_allowed: bool,
    max_content_bytes: int | None = None,
    max_views: int | None = None,
    passphrase: str | None = None,
    expires_in: int | None = None,
    notify: Sequence[str] = (),
) -> Asked:
    """Ask: a fill key and an X25519 key pair made here, the note sealed for the fill
    link, and the answer's proofs derived from the private key (and ``passphrase``,
    a passphrase on the answer). Only the choices made go in the body."""
    fill_key = envelope.new_link_key()
    private_key = request.new_private_key()
    # A passphrase is stretched (PBKDF2): off the event loop.
    collect = await asyncio.to_thread(request.collect_keys, private_key, passphrase)
    body: dict[str, Any] = {
        "fill_verifier": b64u_encode(envelope.verifier(request.fill_keys(fill_key).claim)),
        "files_allowed": files_allowed,
        "answer": claim_fields(collect.claim, collect.unlock, max_views),
        "manage_verifier": b64u_encode(envelope.verifier(collect.manage)),
    }
    if note:
        body["note"] = b64u_encode(request.seal_note(fill_key, note))
    if max_content_bytes is not None:
        body["max_content_bytes"] = max_content_bytes
    if expires_in is not None:
        body["expires_in"] = expires_in
    if notify:
        body["notify"] = list(notify)
    asked = await api.ask(body)
    request_id = str(asked["id"])
    return Asked(
        request_id,
        make_link(api.server, "q", request_id, fill_key + request.public_key(private_key)),
        make_link(api.server, "c", request_id, private_key),
        str(asked["expires_at"]),
    )


def _fill_parts(fill_link: Link) -> tuple[bytes, bytes]:
    """A fill link's key: the fill key, and the asker's public key."""
    return fill_link.key[:KEY_BYTES], fill_link.key[KEY_BYTES:]


async def open_request(api: Api, fill_link: Link) -> AskedFor:
    """Read the request with its fill link: the note opened here."""
    fill_key = _fill_parts(fill_link)[0]
    found = await api.open_request(fill_link.id, request.fill_keys(fill_key).claim)
    note = ""
    if found.get("note"):
        try:
            note = request.open_note(fill_key, b64u_decode(found["note"]))
        except (EnvelopeError, ValueError):
            raise ClientError(
                _(
                    "the request's note does not open with this fill link: the server's "
                    "answer was altered"
                )
            ) from None
    return AskedFor(
        note,
        bool(found["files_allowed"]),
        int(found["max_content_bytes"]),
        found["expires_at"],
        contents.segment_size_of(found),
    )


async def answer(
    api: Api,
    fill_link: Link,
    text: str = "",
    files: Sequence[ContentFile] = (),
    *,
    segment_size: int,
    progress: Progress = _no_progress,
) -> Answered:
    """Answer the request once: ``text`` and ``files`` sealed as a v2 content under a
    fresh content key, that key wrapped to the public key in the fill link. The
    segments go up as any content's (``contents.upload_content``)."""
    fill_key, asker_public = _fill_parts(fill_link)
    claim = request.fill_keys(fill_key).claim
    content_key = content.new_content_key()
    wrapped = request.wrap_for_asker(asker_public, content_key)

    async def create(sizes: dict[str, Any], told: Progress) -> dict[str, Any]:
        body = {**sizes, "claim": b64u_encode(claim), "wrapped_key": b64u_encode(wrapped)}
        return await api.answer_request(fill_link.id, body, told)

    answered = await contents.upload_content(
        api, content_key, text, files, segment_size, create, progress
    )
    return Answered(str(answered["id"]), str(answered["expires_at"]))


async def collect(
    api: Api,
    collect_link: Link,
    passphrase: str | None,
    sink: Sink,
    progress: Progress = _no_progress,
) -> Opened:
    """Open the answer with the collect link (spends one of its views): revealed with
    the collect claim (and unlock), its content key unwrapped with the private key.
    When there is no answer to reveal, :class:`Unanswered` says why."""
    keys = await asyncio.to_thread(request.collect_keys, collect_link.key, passphrase)
    try:
        revealed = await api.reveal(collect_link.id, keys.claim, keys.unlock)
    except ApiError as exc:
        if exc.kind != "secret-not-found":
            raise
        try:
            state = await read_request(api, collect_link)
        except ApiError as not_found:
            if not_found.kind != "request-not-found":
                raise
            raise exc from None  # no such request either: the link is wrong or long gone
        raise Unanswered("uploading" if state.get("uploading") else str(state["state"])) from None
    if int(revealed.get("version", 1)) != 2:
        raise ClientError(_("the server revealed something that is not a request's answer"))
    try:
        content_key = request.unwrap_as_asker(
            collect_link.key, b64u_decode(revealed["wrapped_key"])
        )
    except EnvelopeError:
        raise ClientError(
            _(
                "the answer does not open with this collect link: it was made through a fill "
                "link that was altered, or the server's answer was"
            )
        ) from None
    return await contents.open_revealed(api, revealed, content_key, sink, progress)


def _manage(collect_link: Link) -> bytes:
    return request.collect_keys(collect_link.key).manage


async def read_request(api: Api, collect_link: Link) -> dict[str, Any]:
    """The asker's view of the request: state, when asked, opened and answered."""
    return await api.read_request(collect_link.id, _manage(collect_link))


async def read_life(api: Api, collect_link: Link) -> dict[str, Any]:
    """The request's life as ``status`` shows it: ``request``, the asker's view, and
    ``answer``, the answer's receipt once answered (``None`` before, or once the
    receipt is gone)."""
    asked = await read_request(api, collect_link)
    receipt = None
    if asked.get("state") == "answered":
        try:
            receipt = await api.receipt(collect_link.id, _manage(collect_link))
        except ApiError as exc:
            if exc.kind != "receipt-not-found":
                raise
    return {"request": asked, "answer": receipt}
