"""Protocol v2: a content sealed once, in segments, and its key wrapped per link.

A content (a text and any number of files) is one byte stream: a header, the
files' bytes, then zero padding to the Padmé bucket. The stream is cut into
segments sealed with the STREAM construction under a key derived from a fresh
content key ``CK``; each share link carries ``CK`` wrapped under a key of its own.
Sealing and opening both stream, so memory holds a segment or two whatever the
size of the files. The byte-level contract, with test vectors, is
``docs/protocol.md`` (Protocol v2).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.protocol.envelope import (
    KEY_BYTES,
    MAX_FILES,
    MAX_NAME_BYTES,
    NONCE_BYTES,
    EnvelopeError,
    _Reader,
    _short_string,
    hkdf,
    input_key_material,
    padded_length,
)

VERSION = 2
SALT = b"burnafter/v2"
TAG_BYTES = 16
WRAPPED_BYTES = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES
SEGMENT_UNIT = 1024
MAX_SEGMENT_SIZE = 4 * 1024 * 1024
DEFAULT_SEGMENT_SIZE = 1024 * 1024
MAX_SEGMENTS = 2**32
# Segments an upload may have in flight: a server stores any index below the count
# it holds in order (``received``) plus this, so a client that keeps this many PUTs
# going never runs ahead of it (docs/protocol.md, "API use (v2)").
UPLOAD_WINDOW = 4

_VERSION_BYTE = bytes([VERSION])
_WRAP_AAD = _VERSION_BYTE + b"wrap"


class ContentError(EnvelopeError):
    """A content or wrapped key that does not open whole. The message holds no secret."""


@dataclass(frozen=True)
class LinkKeys:
    """What a v2 link's key (and passphrase) give: v1's proofs, and the wrap key."""

    claim: bytes
    unlock: bytes | None
    wrap: bytes


def derive_link_keys(link_key: bytes, passphrase: str | None = None) -> LinkKeys:
    """The proofs are v1's: a client cannot know a link's version before it peeks."""
    if len(link_key) != KEY_BYTES:
        raise EnvelopeError("link key must be 32 bytes")
    ikm = input_key_material(link_key, passphrase)
    return LinkKeys(
        claim=hkdf(link_key, "claim"),
        unlock=None if passphrase is None else hkdf(ikm, "unlock"),
        wrap=hkdf(ikm, "wrap", SALT),
    )


def new_content_key() -> bytes:
    return os.urandom(KEY_BYTES)


def wrap_content_key(wrap_key: bytes, content_key: bytes, nonce: bytes | None = None) -> bytes:
    """0x02 || nonce || AES-256-GCM(wrap_key, nonce, CK, aad = 0x02 || "wrap"): 61 bytes."""
    if len(content_key) != KEY_BYTES:
        raise EnvelopeError("content key must be 32 bytes")
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    return _VERSION_BYTE + nonce + AESGCM(wrap_key).encrypt(nonce, content_key, _WRAP_AAD)


def unwrap_content_key(wrap_key: bytes, wrapped: bytes) -> bytes:
    if len(wrapped) != WRAPPED_BYTES or wrapped[:1] != _VERSION_BYTE:
        raise ContentError("unknown wrapped key version or length")
    nonce, body = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
    try:
        return AESGCM(wrap_key).decrypt(nonce, body, _WRAP_AAD)
    except InvalidTag:
        raise ContentError("the wrapped key does not open with this link or passphrase") from None


def segment_key(content_key: bytes) -> bytes:
    if len(content_key) != KEY_BYTES:
        raise EnvelopeError("content key must be 32 bytes")
    return hkdf(content_key, "segments", SALT)


def segment_nonce(index: int, *, last: bool) -> bytes:
    """STREAM's nonce: 7 zero bytes, the segment's index (u32), the last-segment flag."""
    return bytes(7) + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def check_segment_size(segment_size: int) -> int:
    if not SEGMENT_UNIT <= segment_size <= MAX_SEGMENT_SIZE or segment_size % SEGMENT_UNIT:
        raise EnvelopeError(f"segment size must be a multiple of {SEGMENT_UNIT} up to 4 MiB")
    return segment_size


@dataclass(frozen=True)
class FileEntry:
    """A file as the header lists it."""

    name: str
    type: str
    size: int


@dataclass(frozen=True)
class Header:
    """What a content holds before the files' bytes."""

    text: str = ""
    files: tuple[FileEntry, ...] = ()


def encode_header(header: Header) -> bytes:
    """u32 text length || text || u16 count || count * (name, type, u64 size)."""
    if len(header.files) > MAX_FILES:
        raise EnvelopeError(f"at most {MAX_FILES} files")
    text = header.text.encode("utf-8")
    if len(text) >= 2**32:
        raise EnvelopeError("the text is longer than 4 GiB")
    parts = [struct.pack(">I", len(text)), text, struct.pack(">H", len(header.files))]
    for entry in header.files:
        if not entry.name:
            raise EnvelopeError("a file needs a name")
        if not 0 <= entry.size < 2**64:
            raise EnvelopeError("a file size must fit in 64 bits")
        parts += [
            _short_string(entry.name, "file name"),
            _short_string(entry.type, "file type"),
            struct.pack(">Q", entry.size),
        ]
    return b"".join(parts)


def _read_header(reader: _Reader) -> Header:
    text = reader.text(">I")
    count = reader.number(">H")
    if count > MAX_FILES:
        raise ContentError(f"at most {MAX_FILES} files")
    files = []
    for _ in range(count):
        name, kind = reader.text(">H"), reader.text(">H")
        if not name:
            raise ContentError("a file needs a name")
        if max(len(name.encode()), len(kind.encode())) > MAX_NAME_BYTES:
            raise ContentError(f"a file name or type is longer than {MAX_NAME_BYTES} bytes")
        files.append(FileEntry(name, kind, reader.number(">Q")))
    return Header(text, tuple(files))


def decode_header(data: bytes) -> Header:
    """A whole encoded header, and nothing after it."""
    reader = _Reader(data)
    header = _read_header(reader)
    if reader.at != len(data):
        raise ContentError("bytes follow the header")
    return header


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class FileSource:
    """A file to seal: its header entry, and a binary stream of exactly ``size`` bytes."""

    name: str
    type: str
    size: int
    stream: Readable


def sealed_length(plaintext_length: int, segment_size: int) -> int:
    """What the segments of a content whose header and files take
    ``plaintext_length`` bytes weigh together: the padded length and a tag each.
    Grows with ``plaintext_length``, so a limit on one is a limit on the other."""
    padded = padded_length(plaintext_length)
    return padded + -(-padded // segment_size) * TAG_BYTES


class ContentSealer:
    """Seals a content into segments, yielded one at a time as it is iterated (once).

    The files' streams are read as the segments are asked for, at most one segment
    of bytes per read, so memory stays flat whatever the size of the files.
    """

    def __init__(
        self,
        content_key: bytes,
        text: str = "",
        files: Sequence[FileSource] = (),
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self.segment_size = check_segment_size(segment_size)
        self.header = Header(text, tuple(FileEntry(f.name, f.type, f.size) for f in files))
        self._encoded_header = encode_header(self.header)
        self._files = tuple(files)
        self._aead = AESGCM(segment_key(content_key))
        self.plaintext_length = len(self._encoded_header) + sum(f.size for f in files)
        self.padded_length = padded_length(self.plaintext_length)
        self.segment_count = -(-self.padded_length // self.segment_size)
        if self.segment_count > MAX_SEGMENTS:
            raise ContentError("the content needs more segments than a content may have")

    @property
    def sealed_length(self) -> int:
        """What the segments weigh together: the padded length and a tag per segment."""
        return sealed_length(self.plaintext_length, self.segment_size)

    def __iter__(self) -> Iterator[bytes]:
        size, buffer, index = self.segment_size, bytearray(), 0
        for piece in self._plaintext():
            buffer += piece
            while len(buffer) >= size and index < self.segment_count - 1:
                yield self._seal(index, buffer[:size], last=False)
                del buffer[:size]
                index += 1
        yield self._seal(index, buffer, last=True)

    def _seal(self, index: int, plaintext: bytes | bytearray, *, last: bool) -> bytes:
        return self._aead.encrypt(segment_nonce(index, last=last), plaintext, _VERSION_BYTE)

    def _plaintext(self) -> Iterator[bytes]:
        yield self._encoded_header
        for number, source in enumerate(self._files):
            yield from _file_bytes(number, source, self.segment_size)
        for at in range(self.plaintext_length, self.padded_length, self.segment_size):
            yield bytes(min(self.segment_size, self.padded_length - at))


def _file_bytes(number: int, source: FileSource, most: int) -> Iterator[bytes]:
    """Exactly the declared size, in reads of at most ``most`` bytes."""
    left = source.size
    while left:
        piece = source.stream.read(min(most, left))
        if not piece or len(piece) > left:
            raise ContentError(f"file {number} does not hold its declared size")
        left -= len(piece)
        yield piece
    if source.stream.read(1):
        raise ContentError(f"file {number} is longer than its declared size")


@dataclass(frozen=True)
class FileChunk:
    """Bytes of ``Header.files[file]``, in order."""

    file: int
    data: bytes


class ContentOpener:
    """Opens sealed segments one at a time: yields the Header, then FileChunks in order.

    Every segment is authenticated before any of its bytes are used, but only the
    end of the iteration proves the content whole (nothing dropped, truncated or
    appended, zero padding): a consumer must discard what it got if iterating raises.
    """

    def __init__(self, content_key: bytes, segments: Iterable[bytes], segment_size: int) -> None:
        self.segment_size = check_segment_size(segment_size)
        self._aead = AESGCM(segment_key(content_key))
        self._segments = segments

    def __iter__(self) -> Iterator[Header | FileChunk]:
        reader = _PlaintextReader(self._plaintexts())
        header = _read_header(reader)
        yield header
        for number, entry in enumerate(header.files):
            for data in reader.pieces(entry.size):
                yield FileChunk(number, data)
        reader.finish(padded_length(reader.position))

    def _plaintexts(self) -> Iterator[bytes]:
        """Each segment opened in turn. A segment is the last when none follows it,
        and is opened as such: the flag in its nonce proves where the content ends."""
        sealed = iter(self._segments)
        current = next(sealed, None)
        if current is None:
            raise ContentError("the content is truncated: there is no segment")
        index = 0
        while current is not None:
            following = next(sealed, None)
            yield self._open(index, current, last=following is None)
            current, index = following, index + 1

    def _open(self, index: int, sealed: bytes, *, last: bool) -> bytes:
        if index >= MAX_SEGMENTS:
            raise ContentError("more segments than a content may have")
        if not TAG_BYTES < len(sealed) <= self.segment_size + TAG_BYTES:
            raise ContentError(f"segment {index} has a wrong length")
        try:
            plaintext = self._aead.decrypt(segment_nonce(index, last=last), sealed, _VERSION_BYTE)
        except InvalidTag:
            raise self._refusal(index, sealed, last=last) from None
        if not last and len(plaintext) != self.segment_size:
            raise ContentError(f"segment {index} has a wrong length")
        return plaintext

    def _refusal(self, index: int, sealed: bytes, *, last: bool) -> ContentError:
        """Name the failure: a segment that opens with the other flag is in its place,
        but the content ends before or after it."""
        try:
            self._aead.decrypt(segment_nonce(index, last=not last), sealed, _VERSION_BYTE)
        except InvalidTag:
            return ContentError(
                f"segment {index} does not authenticate: tampered, out of order, "
                "or another content's"
            )
        if last:
            return ContentError("the content is truncated: its last segment is missing")
        return ContentError(f"the content has data after the last segment ({index})")


class _PlaintextReader(_Reader):
    """The opened segments as one stream, read by count with v1's frame reader."""

    def __init__(self, plaintexts: Iterator[bytes]) -> None:
        super().__init__(b"")
        self._plaintexts = plaintexts
        self.position = 0

    def _next(self) -> bytes:
        following = next(self._plaintexts, None)
        if following is None:
            raise ContentError("the content is shorter than its header says")
        return following

    def take(self, count: int) -> bytes:
        if len(self.data) - self.at < count:
            parts = [self.data[self.at :]]
            held = len(parts[0])
            while held < count:
                parts.append(self._next())
                held += len(parts[-1])
            self.data, self.at = b"".join(parts), 0
        self.position += count
        return super().take(count)

    def pieces(self, count: int) -> Iterator[bytes]:
        """``count`` bytes in pieces of at most one segment, holding no more."""
        while count:
            if self.at == len(self.data):
                self.data, self.at = self._next(), 0
            piece = self.take(min(count, len(self.data) - self.at))
            count -= len(piece)
            yield piece

    def finish(self, padded: int) -> None:
        """Zero bytes up to the padded length, then the end of the content."""
        for piece in self.pieces(padded - self.position):
            if piece.count(0) != len(piece):
                raise ContentError("padding must be zero bytes")
        if self.at < len(self.data) or next(self._plaintexts, None) is not None:
            raise ContentError("the content is longer than its padded length")
