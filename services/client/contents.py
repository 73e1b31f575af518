"""Sending a content (protocol v2) and opening a share link (v1 or v2), streamed.

``send`` seals the text and files with ``ContentSealer`` as it uploads them: segment
0 rides in the create request (a password-sized secret is that one request), then
segments 1..N-1 go up, ``UPLOAD_WINDOW`` at once, and a finalize makes the link live. ``open_link``
reveals; a v2 answer's further segments come down a few at once and go in order into
``ContentOpener``, whose header and file bytes go to a :class:`Sink` (a folder, for
the CLI). Memory holds a few segments, whatever the size of the files.

A broken connection, a silent server or a 5xx during a transfer is retried with
backoff from where the server stands: an upload asks ``GET /contents/{id}/upload``
and sends again from ``received``; a download asks again for each segment it did
not get, keeping those it got, while its grant is open."""

from __future__ import annotations

import asyncio
import io
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from services.client.api_client import (
    Api,
    ApiError,
    ClientError,
    Progress,
    Sent,
    SentLink,
    ServerUnreachable,
    claim_fields,
    share_fields,
)
from services.client.links import Link, make_link
from services.client.translated import _, ngettext
from services.protocol import content, envelope
from services.protocol.content import (
    UPLOAD_WINDOW,
    ContentOpener,
    ContentSealer,
    FileChunk,
    FileEntry,
    FileSource,
    Header,
)
from services.protocol.envelope import b64u_decode, b64u_encode

# Seconds to wait before each retry of a transfer step that failed; the count
# starts over whenever a segment gets through.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# Refusals that say where the server stands: send again from their "received".
_BEHIND = frozenset({"segment-out-of-order", "upload-incomplete"})


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def _transient(exc: ClientError) -> bool:
    """Worth a retry: a broken connection, a silent server, a server error; not a
    refusal (4xx) nor a full store (507)."""
    if isinstance(exc, ServerUnreachable):
        return True
    return isinstance(exc, ApiError) and exc.status in _TRANSIENT_STATUSES


def segment_size_of(limits: dict[str, Any]) -> int:
    """The segment size a server asks of its senders (``GET /limits``), or of a
    request's responder (its open answer)."""
    size = limits.get("segment_size")
    if not isinstance(size, int):
        raise ClientError(
            _("this server does not take protocol v2 contents: it is older than this client")
        )
    return content.check_segment_size(size)


# Sending.


@dataclass(frozen=True)
class Recipient:
    """One recipient of a share: its own link (and passphrase, and views). Its name
    is the sender's, sealed for the receipt under the receipt key: the server never
    reads it, nor the recipient."""

    name: str | None
    passphrase: str | None = None
    max_views: int | None = None


def max_recipients_of(limits: dict[str, Any]) -> int:
    """How many recipients this server lets a share have (``GET /limits``)."""
    most = limits.get("max_recipients")
    if not isinstance(most, int) or isinstance(most, bool):
        raise ClientError(
            _("this server does not send to several recipients: it is older than this client")
        )
    return most


def check_recipients(recipients: Sequence[Recipient], max_recipients: int | None = None) -> None:
    """Refuse, before anything is sealed, recipients a share cannot have: more than
    ``max_recipients``, a name over ``LABEL_BYTES`` of UTF-8 (or with a NUL), an empty
    name, two of one name. The messages number the recipients; they never repeat a
    name, which is the sender's private note."""
    if max_recipients is not None and len(recipients) > max_recipients:
        raise ClientError(
            _(
                "too many recipients: %(count)s; this server sends a secret to at most "
                "%(most)s at once"
            )
            % {"count": len(recipients), "most": max_recipients}
        )
    seen: dict[str, int] = {}
    for place, recipient in enumerate(recipients, 1):
        name = recipient.name
        if name is None:
            continue
        if not name:
            raise ClientError(_("recipient %(number)s has an empty name") % {"number": place})
        try:
            size = len(name.encode("utf-8"))
        except UnicodeEncodeError:
            raise ClientError(
                _("the name of recipient %(number)s is not UTF-8 text") % {"number": place}
            ) from None
        if size > envelope.LABEL_BYTES or "\0" in name:
            raise ClientError(
                ngettext(
                    "the name of recipient %(number)s is %(size)s byte: a name is at most "
                    "%(most)s bytes of UTF-8 text, without NUL",
                    "the name of recipient %(number)s is %(size)s bytes: a name is at most "
                    "%(most)s bytes of UTF-8 text, without NUL",
                    size,
                )
                % {"number": place, "size": size, "most": envelope.LABEL_BYTES}
            )
        if name in seen:
            raise ClientError(
                _("recipients %(first)s and %(second)s have the same name: give each its own")
                % {"first": seen[name], "second": place}
            )
        seen[name] = place


@dataclass(frozen=True)
class ContentFile:
    """A file to send: its header entry, and how to read it from its first byte
    (called again whenever an upload resumes)."""

    name: str
    type: str
    size: int
    open: Callable[[], BinaryIO]

    @classmethod
    def from_bytes(cls, name: str, type: str, data: bytes) -> ContentFile:
        return cls(name, type, len(data), lambda: io.BytesIO(data))


class _LazyStream:
    """A file's bytes, opened at the first read and closed at its end: a content of
    a thousand files holds one open at a time."""

    def __init__(self, file: ContentFile) -> None:
        self._file = file
        self._stream: BinaryIO | None = None
        self._ended = False

    def read(self, size: int, /) -> bytes:
        if self._ended:
            return b""
        if self._stream is None:
            self._stream = self._file.open()
        data = self._stream.read(size)
        if not data:
            self.close()
        return data

    def close(self) -> None:
        self._ended = True
        if self._stream is not None:
            self._stream.close()
            self._stream = None


Segments = Generator[bytes, None, None]


class _Sealing:
    """A content's segments, from any index. Segments are deterministic under one
    content key, so sealing again from the first byte and dropping those the server
    holds gives the very bytes it expects. That re-reads the files up to the resume
    point rather than seeking, at disk and AES speed, far above any upload's, and
    keeps ``ContentSealer`` the only code that seals."""

    def __init__(
        self, content_key: bytes, text: str, files: Sequence[ContentFile], segment_size: int
    ) -> None:
        self._key, self._text, self._files = content_key, text, tuple(files)
        counted = ContentSealer(content_key, text, self._sources([]), segment_size)
        self.segment_size = segment_size
        self.segment_count = counted.segment_count
        self.sealed_length = counted.sealed_length

    def _sources(self, streams: list[_LazyStream]) -> list[FileSource]:
        sources = []
        for file in self._files:
            stream = _LazyStream(file)
            streams.append(stream)
            sources.append(FileSource(file.name, file.type, file.size, stream))
        return sources

    def offset(self, index: int) -> int:
        """Where segment ``index`` starts among the sealed bytes."""
        return index * (self.segment_size + content.TAG_BYTES)

    def segments(self, start: int) -> Segments:
        streams: list[_LazyStream] = []
        try:
            sealer = ContentSealer(self._key, self._text, self._sources(streams), self.segment_size)
            yield from itertools.islice(sealer, start, None)
        finally:
            for stream in streams:
                stream.close()


def _scaled(progress: Progress, phase: str, base: int, part: int, total: int) -> Progress:
    """One request's ``phase`` (its body going up, or its answer coming down) told as
    a share of the whole transfer: its ``done`` of ``whole`` bytes stand for ``part``
    bytes from ``base``."""

    def told(moving: str, done: int, whole: int) -> None:
        if moving == phase:
            progress(phase, base + (done * part // whole if whole else part), total)

    return told


async def send(
    api: Api,
    text: str = "",
    files: Sequence[ContentFile] = (),
    *,
    passphrase: str | None = None,
    max_views: int | None = None,
    recipients: Sequence[Recipient] = (),
    expires_in: int | None = None,
    label: str | None = None,
    notify: tuple[str, ...] = (),
    recipient_may_delete: bool = False,
    segment_size: int | None = None,
    progress: Progress = _no_progress,
) -> Sent:
    """Seal ``text`` and ``files`` here, as a v2 content, and store only the sealed
    segments, the wrapped content key and verifiers. ``segment_size`` is the
    server's (asked for when not given).

    With ``recipients``, the content is sealed once and each recipient gets a link
    of its own (its own key, passphrase and views, its name sealed for the receipt),
    with one receipt for them all; ``passphrase`` and ``max_views`` are then each
    recipient's. Without, the share has one link, as from a server older than
    several recipients (no ``recipients`` in the body)."""
    if recipients and (passphrase is not None or max_views is not None):
        raise ValueError("with recipients, the passphrase and views are each Recipient's")
    check_recipients(recipients)
    if segment_size is None:
        segment_size = segment_size_of(await api.limits())
    receipt_key = envelope.new_link_key()
    receipt_keys = envelope.derive_receipt_keys(receipt_key)
    content_key = content.new_content_key()
    named = list(recipients) or [Recipient(None, passphrase, max_views)]
    link_keys = [envelope.new_link_key() for _ in named]
    # A passphrase is stretched once per link (PBKDF2): off the event loop, at once.
    all_keys = await asyncio.gather(
        *(
            asyncio.to_thread(content.derive_link_keys, key, recipient.passphrase)
            for key, recipient in zip(link_keys, named, strict=True)
        )
    )
    links = [
        {
            **claim_fields(keys.claim, keys.unlock, recipient.max_views),
            "wrapped_key": b64u_encode(content.wrap_content_key(keys.wrap, content_key)),
        }
        for keys, recipient in zip(all_keys, named, strict=True)
    ]
    for number, (link, recipient) in enumerate(zip(links, named, strict=True)):
        if recipient.name is not None:
            sealed_name = envelope.seal_recipient_name(receipt_key, number, recipient.name)
            link["name"] = b64u_encode(sealed_name)
    chosen = share_fields(
        receipt_keys,
        label=label,
        expires_in=expires_in,
        notify=notify,
        recipient_may_delete=recipient_may_delete,
    )
    sent_links: tuple[SentLink, ...] = ()

    async def create(sizes: dict[str, Any], told: Progress) -> dict[str, Any]:
        nonlocal sent_links
        body = {**sizes, **chosen, **({"recipients": links} if recipients else links[0])}
        created = await api.create_content(body, told)
        if recipients:  # before any upload: a server that gives no links takes nothing
            sent_links = _sent_links(api.server, created, named, link_keys)
        return created

    created = await upload_content(api, content_key, text, files, segment_size, create, progress)
    return Sent(
        link=sent_links[0].link
        if sent_links
        else make_link(api.server, "s", created["id"], link_keys[0]),
        receipt_link=make_link(api.server, "r", created["id"], receipt_key),
        expires_at=created["expires_at"],
        max_views=created["max_views"],
        recipient_may_delete=recipient_may_delete,
        recipients=sent_links,
    )


# What creates a content on the server: its sizes and segment 0 (with the fields of
# the creating request) up, the created content's answer (its ``id`` and ``upload``) back.
Create = Callable[[dict[str, Any], Progress], Awaitable[dict[str, Any]]]


async def upload_content(
    api: Api,
    content_key: bytes,
    text: str,
    files: Sequence[ContentFile],
    segment_size: int,
    create: Create,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Seal ``text`` and ``files`` under ``content_key`` as they go up: ``create``
    sends the sizes and segment 0 (a share's create, a request's answer), then
    segments 1..N-1 follow, ``UPLOAD_WINDOW`` at once, and the finalize. Answers what
    ``create`` answered."""
    sealing = _Sealing(content_key, text, files, segment_size)
    segments = sealing.segments(0)
    with closing(segments):
        first = next(segments)
        sizes = {
            "segment_size": segment_size,
            "segment_count": sealing.segment_count,
            "sealed_bytes": sealing.sealed_length,
            "first_segment": b64u_encode(first),
        }
        told = _scaled(progress, "uploading", 0, len(first), sealing.sealed_length)
        created = await create(sizes, told)
        upload = created.get("upload")
        if upload is not None:
            await _upload(api, created["id"], upload["token"], sealing, segments, progress)
    progress("uploading", sealing.sealed_length, sealing.sealed_length)
    return created


def _sent_links(
    server: str, created: dict[str, Any], recipients: Sequence[Recipient], keys: Sequence[bytes]
) -> tuple[SentLink, ...]:
    """Each recipient's link, from the ids the create answered (``links``)."""
    answered = {
        link.get("recipient"): link for link in created.get("links") or () if isinstance(link, dict)
    }
    if set(answered) != set(range(len(recipients))):
        raise ClientError(
            _("the server did not answer a link for each recipient: is it older than this client?")
        )
    return tuple(
        SentLink(
            number,
            recipient.name,
            make_link(server, "s", str(answered[number]["id"]), key),
            int(answered[number]["max_views"]),
        )
        for number, (recipient, key) in enumerate(zip(recipients, keys, strict=True))
    )


async def _upload(
    api: Api,
    content_id: str,
    token: str,
    sealing: _Sealing,
    segments: Segments,
    progress: Progress,
) -> None:
    """Segments 1..N-1 (``segments`` yields them from 1), then the finalize; after a
    failure, from where the server says it stands."""
    upload = _Upload(api, content_id, token, sealing, progress)
    going: Segments | None = segments
    received: int | None = None
    failures = sent = 0
    while True:
        try:
            if going is None:
                going = await upload.resume(received)
            await upload.send_from(going)
        except ClientError as exc:
            going = None
            if upload.sent > sent:  # it moved on since the last failure: patience anew
                failures, sent = 0, upload.sent
            told = exc.problem.get("received") if isinstance(exc, ApiError) else None
            told_where = isinstance(exc, ApiError) and exc.kind in _BEHIND
            received = told if told_where and isinstance(told, int) else None
            if (received is None and not _transient(exc)) or failures == len(RETRY_DELAYS):
                raise
            if received is None:
                await asyncio.sleep(RETRY_DELAYS[failures])
            failures += 1
        else:
            return


class _Upload:
    """Segments up with ``UPLOAD_WINDOW`` PUTs in flight, sealed in order and
    confirmed in order: ``next_index`` is the first one not confirmed yet, and no
    PUT goes past it plus the window, the server's own (docs/protocol.md)."""

    def __init__(
        self, api: Api, content_id: str, token: str, sealing: _Sealing, progress: Progress
    ) -> None:
        self._api, self._id, self._token = api, content_id, token
        self._sealing, self._progress = sealing, progress
        self.next_index = 1
        self.sent = 0  # segments stored by this client, counted to reset the retries
        self._moving: dict[int, int] = {}  # bytes of each PUT in flight gone up so far

    def _told(self, index: int, size: int) -> Progress:
        """A PUT's own progress, told as the whole upload's: the bytes confirmed in
        order, and those of the PUTs in flight so far."""

        def tell(phase: str, done: int, whole: int) -> None:
            if phase == "uploading":
                self._moving[index] = done * size // whole if whole else size
                moved = self._sealing.offset(self.next_index) + sum(self._moving.values())
                self._progress(phase, min(moved, self._sealing.sealed_length),
                               self._sealing.sealed_length)  # fmt: skip

        return tell

    async def _put(self, index: int, sealed: bytes) -> None:
        await self._api.put_segment(
            self._id, index, sealed, self._token, self._told(index, len(sealed))
        )

    def _confirmed(self, index: int) -> None:
        self._moving.pop(index, None)
        self.next_index = index + 1
        self.sent += 1

    async def send_from(self, segments: Segments) -> None:
        """``segments`` from ``next_index`` on, then the finalize."""
        in_flight: deque[tuple[int, asyncio.Task[None]]] = deque()
        try:
            with closing(segments):
                indexes = range(self.next_index, self._sealing.segment_count)
                for index, sealed in zip(indexes, segments, strict=False):
                    if len(in_flight) == UPLOAD_WINDOW:
                        await self._settle(in_flight.popleft())
                    in_flight.append((index, asyncio.create_task(self._put(index, sealed))))
            while in_flight:
                await self._settle(in_flight.popleft())
        finally:
            for _, task in in_flight:
                task.cancel()
            await asyncio.gather(*(task for _, task in in_flight), return_exceptions=True)
            self._moving.clear()
        await self._api.finalize(self._id, self._token)

    async def _settle(self, put: tuple[int, asyncio.Task[None]]) -> None:
        index, task = put
        await task
        self._confirmed(index)

    async def resume(self, received: int | None) -> Segments:
        """The segments from where the server stands: ``received``, or asked for."""
        if received is None:
            received = int((await self._api.upload_state(self._id, self._token))["received"])
        self.next_index = received
        return self._sealing.segments(received)


# Opening.


@dataclass(frozen=True)
class Opened:
    text: str
    files: tuple[FileEntry, ...]
    views_left: int
    recipient_may_delete: bool  # the sender lets the recipient delete it when done
    version: int  # of the protocol the secret was sealed with


class Sink(Protocol):
    """Where an opened content goes. Called from a worker thread, in this order:
    ``begin`` once, with every file's name and size; ``write`` with each file's
    bytes in order; then ``finish`` when the content proved whole, or ``discard``
    (also when ``begin`` never came) when it did not: throw away what was written."""

    def begin(self, header: Header) -> None: ...
    def write(self, file: int, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def discard(self) -> None: ...


@dataclass
class MemorySink:
    """Each file's bytes, in memory: for small contents and tests."""

    data: list[bytearray] = field(default_factory=list)

    def begin(self, header: Header) -> None:
        self.data = [bytearray() for _ in header.files]

    def write(self, file: int, data: bytes) -> None:
        self.data[file] += data

    def finish(self) -> None:
        pass

    def discard(self) -> None:
        self.data = []


async def open_link(
    api: Api,
    link: Link,
    passphrase: str | None = None,
    sink: Sink | None = None,
    progress: Progress = _no_progress,
) -> Opened:
    """Spend one view of ``link``, open its content here and hand it to ``sink``
    (a :class:`MemorySink` when none is given)."""
    keys = content.derive_link_keys(link.key, passphrase)  # v1's proofs, and v2's wrap key
    revealed = await api.reveal(link.id, keys.claim, keys.unlock)
    sink = MemorySink() if sink is None else sink
    if int(revealed.get("version", 1)) == 1:
        header = await asyncio.to_thread(_open_v1, revealed, link, passphrase, sink)
        return _opened(revealed, header, 1)
    content_key = content.unwrap_content_key(keys.wrap, b64u_decode(revealed["wrapped_key"]))
    return await open_revealed(api, revealed, content_key, sink, progress)


async def open_revealed(
    api: Api,
    revealed: dict[str, Any],
    content_key: bytes,
    sink: Sink,
    progress: Progress = _no_progress,
) -> Opened:
    """Open a revealed v2 content (a share link's, a request's answer) with its content
    key, however that key was unwrapped, and hand it to ``sink``."""
    header = await _open_v2(api, revealed, content_key, sink, progress)
    return _opened(revealed, header, 2)


def _opened(revealed: dict[str, Any], header: Header, version: int) -> Opened:
    # A server older than migration 0007 does not say, and allows no delete.
    may_delete = bool(revealed.get("recipient_may_delete", False))
    return Opened(header.text, header.files, revealed["views_left"], may_delete, version)


def _open_v1(revealed: dict[str, Any], link: Link, passphrase: str | None, sink: Sink) -> Header:
    keys = envelope.derive_secret_keys(link.key, passphrase)
    payload = envelope.open_secret(b64u_decode(revealed["ciphertext"]), keys)
    entries = tuple(FileEntry(f.name, f.type, len(f.data)) for f in payload.files)
    chunks = (FileChunk(number, f.data) for number, f in enumerate(payload.files))
    return _consume(itertools.chain([Header(payload.text, entries)], chunks), sink)


def _consume(items: Iterator[Header | FileChunk], sink: Sink) -> Header:
    """Hand an opened content to ``sink``; ``discard`` if it does not open whole."""
    header: Header | None = None
    try:
        for item in items:
            if isinstance(item, Header):
                header = item
                sink.begin(item)
            else:
                sink.write(item.file, item.data)
    except BaseException:
        sink.discard()
        raise
    assert header is not None  # an opener yields the header first, or raises
    sink.finish()
    return header


async def _open_v2(
    api: Api, revealed: dict[str, Any], content_key: bytes, sink: Sink, progress: Progress
) -> Header:
    """Segment 0 came with the reveal; the others come with the download grant,
    ``DOWNLOAD_WINDOW`` asked for at once and handed in order to ``ContentOpener`` on
    a worker thread (disk and AES there, HTTP on this loop). The grant is closed at
    the end, which lets the server delete."""
    size, count = int(revealed["segment_size"]), int(revealed["segment_count"])
    first = b64u_decode(revealed["first_segment"])
    grant = revealed.get("download")
    if count > 1 and not grant:
        raise ClientError(_("the server revealed a content in segments but gave no download"))
    download = _Download(api, str(revealed["content_id"]), grant, size, revealed, progress)
    loop = asyncio.get_running_loop()

    def segments() -> Iterator[bytes]:
        yield first
        for index in range(1, count):
            yield asyncio.run_coroutine_threadsafe(download.take(index), loop).result()

    opener = ContentOpener(content_key, segments(), size)
    try:
        header = await asyncio.to_thread(_consume, iter(opener), sink)
    except Exception as exc:
        await download.stop()
        # The view is spent either way: let the server delete the content now rather
        # than when the grant expires (unless it cannot be reached anyway).
        if not isinstance(exc, ServerUnreachable):
            await download.done()
        raise
    await download.done()
    return header


# Segment GETs a download keeps in flight: each one alone waits on the whole chain
# (HTTP, the api, PostgreSQL) in turn; four at once reach a bare asyncpg client's
# rate (docs/performance.md, "Large files"), and hold at most four segments.
DOWNLOAD_WINDOW = 4


class _Download:
    """The further segments of a revealed content, ``DOWNLOAD_WINDOW`` asked for at
    once and taken in order, each retried by itself while its grant holds."""

    def __init__(
        self,
        api: Api,
        content_id: str,
        grant: dict[str, Any] | None,
        segment_size: int,
        revealed: dict[str, Any],
        progress: Progress,
    ) -> None:
        self._api, self._id, self._progress = api, content_id, progress
        self._token = str(grant["token"]) if grant else ""
        self._step = segment_size + content.TAG_BYTES
        self._count = int(revealed["segment_count"])
        self._total = int(revealed["sealed_bytes"])
        self._asking: dict[int, asyncio.Task[bytes]] = {}
        self._asked = 1  # the next index to ask for
        # Bytes come in for several segments at once: told as their sum.
        self._moved = min(self._step, self._total)
        progress("downloading", self._moved, self._total)

    async def take(self, index: int) -> bytes:
        """Segment ``index``, once those before it were taken: asks for it and the
        next ones, ``DOWNLOAD_WINDOW`` in flight, the others' answers kept."""
        while self._asked < min(index + DOWNLOAD_WINDOW, self._count):
            self._asking[self._asked] = asyncio.create_task(self.segment(self._asked))
            self._asked += 1
        return await self._asking.pop(index)

    async def stop(self) -> None:
        """Drop the segments asked for and not taken (the content did not open)."""
        asking, self._asking = list(self._asking.values()), {}
        for task in asking:
            task.cancel()
        await asyncio.gather(*asking, return_exceptions=True)

    async def segment(self, index: int) -> bytes:
        failures = 0
        base = index * self._step
        part = min(self._step, self._total - base)
        told = 0

        def tell(phase: str, done: int, whole: int) -> None:
            nonlocal told
            if phase != "downloading":
                return
            now = done * part // whole if whole else part
            self._moved += now - told
            told = now
            self._progress("downloading", self._moved, self._total)

        while True:
            try:
                return await self._api.get_segment(self._id, index, self._token, tell)
            except ClientError as exc:
                if not _transient(exc) or failures == len(RETRY_DELAYS):
                    raise
            await asyncio.sleep(RETRY_DELAYS[failures])
            failures += 1

    async def done(self) -> None:
        """Close the grant. Failing that changes nothing for the recipient, who has
        the content: the grant expires on its own, and the content goes then."""
        if not self._token:
            return
        with suppress(ClientError):
            await self._api.downloaded(self._id, self._token)
