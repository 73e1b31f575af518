"""Protocol v2 (services/protocol/content.py) against its published vectors, against
an independent derivation with stdlib HKDF and PBKDF2 and bare AES-GCM, and in
streams far larger than its segments."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import struct
import tracemalloc
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from services.protocol import content, envelope
from services.protocol.content import (
    ContentError,
    ContentOpener,
    ContentSealer,
    FileChunk,
    FileEntry,
    FileSource,
    Header,
)
from services.protocol.envelope import EnvelopeError, b64u_decode, b64u_encode, padded_length
from tools import protocol_v2_vectors

DOCS = Path(__file__).parents[3] / "docs"
VECTORS = json.loads((DOCS / "protocol-v2-vectors.json").read_text("utf-8"))
V1_VECTORS = json.loads((DOCS / "protocol-v1-vectors.json").read_text("utf-8"))
CONTENTS = {vector["name"]: vector for vector in VECTORS["contents"]}
KEY = bytes(range(32))


def rfc5869_hkdf(ikm: bytes, info: bytes, salt: bytes) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()  # one block is 32 bytes


def sources_of(vector: dict[str, Any]) -> list[FileSource]:
    return [
        FileSource(f["name"], f["type"], len(data), io.BytesIO(data))
        for f in vector["files"]
        for data in [b64u_decode(f["data"])]
    ]


def seal(text: str, files: list[tuple[str, bytes]], segment_size: int = 1024) -> list[bytes]:
    sources = [FileSource(name, "", len(data), io.BytesIO(data)) for name, data in files]
    return list(ContentSealer(KEY, text, sources, segment_size))


def open_all(key: bytes, segments: list[bytes], segment_size: int) -> tuple[Header, list[bytes]]:
    """The header, and each file's bytes joined."""
    items = iter(ContentOpener(key, segments, segment_size))
    header = next(items)
    assert isinstance(header, Header)
    data = [b""] * len(header.files)
    for chunk in items:
        assert isinstance(chunk, FileChunk)
        data[chunk.file] += chunk.data
    return header, data


def segments_of(case: dict[str, Any]) -> list[bytes]:
    good = CONTENTS[case["content"]]["segments"]
    return [b64u_decode(good[s] if isinstance(s, int) else s) for s in case["segments"]]


def test_the_committed_vectors_are_what_the_script_writes() -> None:
    written = (DOCS / "protocol-v2-vectors.json").read_text("utf-8")
    assert written == protocol_v2_vectors.vectors_json(), (
        "python -m tools.protocol_v2_vectors write"
    )


@pytest.mark.parametrize("vector", VECTORS["links"], ids=lambda v: v["name"])
def test_link_vectors_match_the_python_content(vector: dict[str, Any]) -> None:
    keys = content.derive_link_keys(b64u_decode(vector["link_key"]), vector["passphrase"])
    assert b64u_encode(keys.claim) == vector["claim"]
    assert (keys.unlock and b64u_encode(keys.unlock)) == vector["unlock"]
    assert b64u_encode(keys.wrap) == vector["wrap_key"]
    content_key, nonce = b64u_decode(vector["content_key"]), b64u_decode(vector["nonce"])
    wrapped = content.wrap_content_key(keys.wrap, content_key, nonce)
    assert b64u_encode(wrapped) == vector["wrapped"]
    assert len(wrapped) == content.WRAPPED_BYTES == 61
    assert content.unwrap_content_key(keys.wrap, wrapped) == content_key
    if vector["passphrase"] is not None:
        wrong = content.derive_link_keys(
            b64u_decode(vector["link_key"]), vector["wrong_passphrase"]
        )
        with pytest.raises(ContentError, match="does not open"):
            content.unwrap_content_key(wrong.wrap, wrapped)


@pytest.mark.parametrize("vector", VECTORS["links"], ids=lambda v: v["name"])
def test_link_proofs_are_the_same_as_v1(vector: dict[str, Any]) -> None:
    """A client cannot know a link's version before it peeks."""
    (same,) = [
        v1
        for v1 in V1_VECTORS["secrets"]
        if (v1["link_key"], v1["passphrase"]) == (vector["link_key"], vector["passphrase"])
    ]
    assert (vector["claim"], vector["unlock"]) == (same["claim"], same["unlock"])


@pytest.mark.parametrize("vector", VECTORS["links"], ids=lambda v: v["name"])
def test_link_vectors_match_an_independent_derivation(vector: dict[str, Any]) -> None:
    link_key = b64u_decode(vector["link_key"])
    ikm = link_key
    if vector["passphrase"] is not None:
        normal = unicodedata.normalize("NFC", vector["passphrase"]).encode()
        ikm += hashlib.pbkdf2_hmac("sha256", normal, link_key, 600_000, 32)
    wrap_key = rfc5869_hkdf(ikm, b"wrap", b"burnafter/v2")
    assert b64u_encode(wrap_key) == vector["wrap_key"]
    wrapped = b64u_decode(vector["wrapped"])
    assert wrapped[:1] == b"\x02" and wrapped[1:13] == b64u_decode(vector["nonce"])
    opened = AESGCM(wrap_key).decrypt(wrapped[1:13], wrapped[13:], b"\x02wrap")
    assert b64u_encode(opened) == vector["content_key"]


@pytest.mark.parametrize("case", VECTORS["tampered_wraps"], ids=lambda c: c["name"])
def test_a_tampered_wrapped_key_does_not_open(case: dict[str, Any]) -> None:
    with pytest.raises(ContentError, match=re.escape(case["error"])):
        content.unwrap_content_key(b64u_decode(case["wrap_key"]), b64u_decode(case["wrapped"]))


@pytest.mark.parametrize("vector", VECTORS["contents"], ids=lambda v: v["name"])
def test_content_vectors_seal_to_the_same_segments(vector: dict[str, Any]) -> None:
    key, size = b64u_decode(vector["content_key"]), vector["segment_size"]
    sealer = ContentSealer(key, vector["text"], sources_of(vector), size)
    segments = [b64u_encode(s) for s in sealer]
    assert segments == vector["segments"]
    assert b64u_encode(content.segment_key(key)) == vector["segment_key"]
    assert b64u_encode(content.encode_header(sealer.header)) == vector["header"]
    assert (sealer.plaintext_length, sealer.padded_length) == (
        vector["plaintext_length"],
        vector["padded_length"],
    )
    assert sealer.segment_count == len(segments)
    assert sealer.sealed_length == sum(len(b64u_decode(s)) for s in segments)


@pytest.mark.parametrize("vector", VECTORS["contents"], ids=lambda v: v["name"])
def test_content_vectors_open(vector: dict[str, Any]) -> None:
    segments = [b64u_decode(s) for s in vector["segments"]]
    header, data = open_all(b64u_decode(vector["content_key"]), segments, vector["segment_size"])
    assert header.text == vector["text"]
    assert [(f.name, f.type) for f in header.files] == [
        (f["name"], f["type"]) for f in vector["files"]
    ]
    assert [b64u_encode(d) for d in data] == [f["data"] for f in vector["files"]]
    assert content.decode_header(b64u_decode(vector["header"])) == header


def independent_header(stream: bytes) -> tuple[str, list[tuple[str, str, int]], int]:
    """The text, the (name, type, size) rows, and where the files' bytes start."""
    (text_length,) = struct.unpack_from(">I", stream)
    at = 4 + text_length
    text = stream[4:at].decode()
    (count,) = struct.unpack_from(">H", stream, at)
    at += 2
    rows = []
    for _ in range(count):
        fields = []
        for _field in ("name", "type"):
            (length,) = struct.unpack_from(">H", stream, at)
            fields.append(stream[at + 2 : at + 2 + length].decode())
            at += 2 + length
        (size,) = struct.unpack_from(">Q", stream, at)
        rows.append((fields[0], fields[1], size))
        at += 8
    return text, rows, at


@pytest.mark.parametrize("vector", VECTORS["contents"], ids=lambda v: v["name"])
def test_content_vectors_match_an_independent_derivation(vector: dict[str, Any]) -> None:
    size = vector["segment_size"]
    key = rfc5869_hkdf(b64u_decode(vector["content_key"]), b"segments", b"burnafter/v2")
    assert b64u_encode(key) == vector["segment_key"]
    segments = [b64u_decode(s) for s in vector["segments"]]
    stream = b""
    for index, sealed in enumerate(segments):
        last = index == len(segments) - 1
        nonce = bytes(7) + index.to_bytes(4, "big") + bytes([last])
        plaintext = AESGCM(key).decrypt(nonce, sealed, b"\x02")
        assert len(plaintext) == size or (last and 0 < len(plaintext) <= size)
        stream += plaintext
    text, rows, at = independent_header(stream)
    assert text == vector["text"]
    assert stream[:at] == b64u_decode(vector["header"])
    for (name, kind, length), expected in zip(rows, vector["files"], strict=True):
        assert (name, kind, stream[at : at + length]) == (
            expected["name"],
            expected["type"],
            b64u_decode(expected["data"]),
        )
        at += length
    assert at == vector["plaintext_length"]
    assert len(stream) == vector["padded_length"] == padded_length(at)
    assert stream[at:] == bytes(len(stream) - at)


@pytest.mark.parametrize("case", VECTORS["tampered"], ids=lambda c: c["name"])
def test_a_tampered_content_does_not_open(case: dict[str, Any]) -> None:
    with pytest.raises(ContentError, match=re.escape(case["error"])):
        open_all(b64u_decode(case["content_key"]), segments_of(case), case["segment_size"])


def test_the_vectors_cover_every_tamper_case_of_the_protocol() -> None:
    errors = {case["error"] for case in VECTORS["tampered"]}
    assert errors == {
        "truncated",
        "does not authenticate",
        "after the last segment",
        "wrong length",
        "padding",
        "shorter than its header",
        "longer than its padded length",
    }


@pytest.mark.parametrize("row", VECTORS["padding"], ids=lambda r: str(r["plaintext_length"]))
def test_padding_table(row: dict[str, int]) -> None:
    assert padded_length(row["plaintext_length"]) == row["padded_length"]


def test_empty_text_and_empty_files_round_trip() -> None:
    files = [("a", b""), ("b", b""), ("c", b"x")]
    header, data = open_all(KEY, seal("", files), 1024)
    assert header == Header(
        "", (FileEntry("a", "", 0), FileEntry("b", "", 0), FileEntry("c", "", 1))
    )
    assert data == [b"", b"", b"x"]


def test_many_segments_round_trip_and_match_the_sealer_s_sizes() -> None:
    files = [("big", bytes(range(256)) * 1000), ("small", b"s" * 3000)]
    sealer = ContentSealer(
        KEY, "t", [FileSource(n, "", len(d), io.BytesIO(d)) for n, d in files], 2048
    )
    segments = list(sealer)
    assert len(segments) == sealer.segment_count > 100
    assert {len(s) for s in segments[:-1]} == {2048 + 16}
    header, data = open_all(KEY, segments, 2048)
    assert (header.text, data) == ("t", [d for _, d in files])


names = st.text(min_size=1, max_size=20).filter(lambda n: len(n.encode()) <= 255)


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(max_size=3000),
    files=st.lists(st.tuples(names, st.binary(max_size=5000)), max_size=4),
    units=st.integers(min_value=1, max_value=5),
)
def test_any_content_round_trips(text: str, files: list[tuple[str, bytes]], units: int) -> None:
    header, data = open_all(KEY, seal(text, files, 1024 * units), 1024 * units)
    assert header.text == text
    assert data == [d for _, d in files]


@pytest.mark.parametrize("segment_size", [0, 512, 1000, 1025, 4 * 1024 * 1024 + 1024])
def test_a_segment_size_off_the_grid_is_refused(segment_size: int) -> None:
    with pytest.raises(EnvelopeError, match="segment size"):
        ContentSealer(KEY, "x", [], segment_size)
    with pytest.raises(EnvelopeError, match="segment size"):
        ContentOpener(KEY, [], segment_size)


def test_opening_with_a_larger_segment_size_fails() -> None:
    segments = seal("x", [("f", bytes(5000))], 1024)
    with pytest.raises(ContentError, match="wrong length"):
        open_all(KEY, segments, 2048)


class TenBytes:
    """A stream of ten bytes that may be asked once past its end, not twice."""

    def __init__(self) -> None:
        self.stream = io.BytesIO(bytes(10))
        self.ends = 0

    def read(self, size: int, /) -> bytes:
        piece = self.stream.read(size)
        self.ends += not piece
        assert self.ends < 2, "read twice past the end"
        return piece


@pytest.mark.parametrize(("declared", "error"), [(11, "does not hold"), (9, "is longer")])
def test_a_file_that_does_not_hold_its_declared_size_is_refused(declared: int, error: str) -> None:
    source = FileSource("f", "", declared, TenBytes())
    with pytest.raises(ContentError, match=error):
        list(ContentSealer(KEY, "", [source], 1024))


def test_a_content_key_must_be_32_bytes() -> None:
    with pytest.raises(EnvelopeError, match="32 bytes"):
        ContentSealer(bytes(31), "x")
    with pytest.raises(EnvelopeError, match="32 bytes"):
        content.wrap_content_key(bytes(32), bytes(16))


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (struct.pack(">IH", 0, 1001), "1000 files"),
        (struct.pack(">IHH", 0, 1, 0) + struct.pack(">HQ", 0, 0), "needs a name"),
        (struct.pack(">IHH", 0, 1, 256) + b"n" * 256 + struct.pack(">HQ", 0, 0), "255 bytes"),
        (struct.pack(">IH", 0, 0) + b"\x00", "bytes follow"),
        (struct.pack(">IH", 5, 0), "truncated"),
    ],
)
def test_a_malformed_header_is_refused(header: bytes, error: str) -> None:
    with pytest.raises(EnvelopeError, match=error):
        content.decode_header(header)


def test_a_header_of_more_than_1000_files_is_not_encoded() -> None:
    with pytest.raises(EnvelopeError, match="1000 files"):
        content.encode_header(Header("", (FileEntry("a", "", 0),) * 1001))


class Recorder:
    """A file stream of zero bytes that counts what it was asked for."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0
        self.largest_read = 0

    def read(self, size: int, /) -> bytes:
        piece = min(size, self.left)
        self.left -= piece
        self.read_bytes += piece
        self.largest_read = max(self.largest_read, size)
        return bytes(piece)


def test_the_sealer_reads_a_file_only_as_its_segments_are_asked_for() -> None:
    stream = Recorder(100 * 1024)
    segments = iter(ContentSealer(KEY, "", [FileSource("f", "", 100 * 1024, stream)], 1024))
    next(segments)
    assert stream.read_bytes <= 1024
    next(segments)
    assert stream.read_bytes <= 2 * 1024
    assert sum(1 for _ in segments) > 90
    assert stream.largest_read <= 1024


def test_the_opener_pulls_one_segment_ahead_at_most() -> None:
    pulled = []

    def source() -> Iterator[bytes]:
        for index, sealed in enumerate(seal("", [("f", bytes(50 * 1024))])):
            pulled.append(index)
            yield sealed

    items = iter(ContentOpener(KEY, source(), 1024))
    assert isinstance(next(items), Header)
    assert len(pulled) == 2
    next(items)
    assert len(pulled) <= 3


class Pattern:
    """``size`` bytes of a repeating pattern, made as they are read, hashed as they go."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(range(256)) * 4096  # 1 MiB
        self.digest = hashlib.sha256()

    def read(self, size: int, /) -> bytes:
        piece = self.block[: min(size, self.left, len(self.block))]
        self.left -= len(piece)
        self.digest.update(piece)
        return piece


def test_sealing_and_opening_64_mib_holds_a_few_segments_not_the_file() -> None:
    size, segment_size = 64 * 1024 * 1024, 1024 * 1024
    stream = Pattern(size)
    sealer = ContentSealer(KEY, "big", [FileSource("f", "", size, stream)], segment_size)
    received, digest = 0, hashlib.sha256()
    tracemalloc.start()
    try:
        for item in ContentOpener(KEY, sealer, segment_size):
            if isinstance(item, FileChunk):
                received += len(item.data)
                digest.update(item.data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert digest.digest() == stream.digest.digest()
    assert peak < 10 * segment_size, f"peak {peak} bytes"


def test_no_more_segments_than_the_counter_can_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """2**32 segments in truth; a limit of 3 here, so a test can reach it."""
    segments = seal("x", [("f", bytes(4000))])
    assert len(segments) == 4
    monkeypatch.setattr(content, "MAX_SEGMENTS", 3)
    with pytest.raises(ContentError, match="more segments"):
        ContentSealer(KEY, "x", [FileSource("f", "", 4000, io.BytesIO(bytes(4000)))], 1024)
    with pytest.raises(ContentError, match="more segments"):
        open_all(KEY, segments, 1024)


@pytest.mark.parametrize("vector", VECTORS["recipient_names"], ids=lambda v: str(v["recipient"]))
def test_recipient_names_open_only_as_their_own_recipient(vector: dict[str, Any]) -> None:
    receipt_key, recipient = b64u_decode(vector["receipt_key"]), vector["recipient"]
    key = envelope.recipient_name_key(receipt_key, recipient)
    assert key == rfc5869_hkdf(receipt_key, f"recipient {recipient}".encode(), b"burnafter/v1")
    assert b64u_encode(key) == vector["name_key"]
    sealed = b64u_decode(vector["sealed_name"])
    assert envelope.open_recipient_name(receipt_key, recipient, sealed) == vector["name"]
    with pytest.raises(envelope.EnvelopeError):  # swapped to another recipient's place
        envelope.open_recipient_name(receipt_key, recipient + 1, sealed)
