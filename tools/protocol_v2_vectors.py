"""The protocol v2 test vectors, docs/protocol-v2-vectors.json, from fixed keys.

    python -m tools.protocol_v2_vectors          # print the vectors (JSON)
    python -m tools.protocol_v2_vectors write    # rewrite docs/protocol-v2-vectors.json

The output is deterministic; tests/unit/protocol/test_content.py fails when the
committed file differs from what this prints. The tampered contents are sealed
here with AESGCM directly (a sealer would refuse to make them), each the good
content with one thing wrong.
"""

from __future__ import annotations

import io
import json
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.protocol import content, envelope, request
from services.protocol.envelope import b64u_decode, padded_length
from services.protocol.envelope import b64u_encode as e

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "protocol-v2-vectors.json"

LINK_KEY = bytes(range(32))  # v1's vectors use it too: the proofs must come out the same
PASSPHRASE = "pa\u0308sswo\u0308rd \U0001f511"  # v1's, in NFD form
CONTENT_KEYS = [bytes(range(64 + 32 * n, 96 + 32 * n)) for n in range(3)]
MANY = "text and three files across six segments"


def file_data(seed: int, size: int) -> bytes:
    return bytes((index * 31 + seed) % 256 for index in range(size))


CONTENTS: list[tuple[str, bytes, int, str, list[tuple[str, str, bytes]]]] = [
    ("text only, one segment", CONTENT_KEYS[0], 1024, "correct horse battery staple", []),
    (
        "empty text and a 0-byte file, one short segment",
        CONTENT_KEYS[1],
        4096,
        "",
        [("empty.txt", "text/plain", b"")],
    ),
    (
        MANY,
        CONTENT_KEYS[2],
        1024,
        "the keys to the kingdom \u2713 " * 45,
        [
            ("empty.txt", "text/plain", b""),
            ("key.bin", "application/octet-stream", file_data(7, 2600)),
            ("photo \u00fc.jpg", "image/jpeg", file_data(11, 1500)),
        ],
    ),
]


def sealed_segments(key: bytes, plaintext: bytes, segment_size: int) -> list[bytes]:
    aead = AESGCM(content.segment_key(key))
    starts = range(0, len(plaintext), segment_size)
    return [
        aead.encrypt(
            content.segment_nonce(n, last=n == len(starts) - 1),
            plaintext[at : at + segment_size],
            b"\x02",
        )
        for n, at in enumerate(starts)
    ]


def seal_one(key: bytes, index: int, plaintext: bytes, *, last: bool) -> bytes:
    return AESGCM(content.segment_key(key)).encrypt(
        content.segment_nonce(index, last=last), plaintext, b"\x02"
    )


def plaintext_of(text: str, files: list[tuple[str, str, bytes]]) -> bytes:
    entries = tuple(content.FileEntry(name, kind, len(data)) for name, kind, data in files)
    stream = content.encode_header(content.Header(text, entries)) + b"".join(f[2] for f in files)
    return stream + bytes(padded_length(len(stream)) - len(stream))


def content_vector(
    name: str, key: bytes, size: int, text: str, files: list[tuple[str, str, bytes]]
) -> dict[str, Any]:
    sources = [content.FileSource(n, k, len(d), io.BytesIO(d)) for n, k, d in files]
    sealer = content.ContentSealer(key, text, sources, size)
    segments = list(sealer)
    assert segments == sealed_segments(key, plaintext_of(text, files), size)
    return {
        "name": name,
        "content_key": e(key),
        "segment_key": e(content.segment_key(key)),
        "segment_size": size,
        "text": text,
        "files": [{"name": n, "type": k, "data": e(d)} for n, k, d in files],
        "header": e(content.encode_header(sealer.header)),
        "plaintext_length": sealer.plaintext_length,
        "padded_length": sealer.padded_length,
        "segments": [e(s) for s in segments],
    }


def link_vectors() -> list[dict[str, Any]]:
    rows = []
    for name, passphrase, nonce in [
        ("no passphrase", None, bytes(range(100, 112))),
        ("passphrase given in NFD form", PASSPHRASE, bytes(range(200, 212))),
    ]:
        keys = content.derive_link_keys(LINK_KEY, passphrase)
        row: dict[str, Any] = {
            "name": name,
            "link_key": e(LINK_KEY),
            "passphrase": passphrase,
            "claim": e(keys.claim),
            "unlock": None if keys.unlock is None else e(keys.unlock),
            "wrap_key": e(keys.wrap),
            "content_key": e(CONTENT_KEYS[2]),
            "nonce": e(nonce),
            "wrapped": e(content.wrap_content_key(keys.wrap, CONTENT_KEYS[2], nonce)),
        }
        if passphrase is not None:
            row["wrong_passphrase"] = "pa\u0308sswo\u0308rd \U0001f510"
        rows.append(row)
    return rows


def tampered_wraps(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each must fail to unwrap under the first link's wrap key."""
    good = b64u_decode(links[0]["wrapped"])
    another_link = content.derive_link_keys(bytes(range(1, 33))).wrap
    flipped = bytearray(good)
    flipped[20] ^= 1
    cases = [
        (
            "wrapped for another link",
            content.wrap_content_key(another_link, CONTENT_KEYS[2], bytes(12)),
            "does not open",
        ),
        ("a flipped bit", bytes(flipped), "does not open"),
        ("version byte 0x01", b"\x01" + good[1:], "version or length"),
        ("one byte short", good[:-1], "version or length"),
    ]
    return [
        {"name": name, "wrap_key": links[0]["wrap_key"], "wrapped": e(wrapped), "error": error}
        for name, wrapped, error in cases
    ]


Case = tuple[str, bytes, Sequence[int | bytes], str]


def tampered_contents() -> list[dict[str, Any]]:
    """Each is the content named MANY with one thing wrong, sealed under its key
    (unless the case names another) and opened with its segment size."""
    name, key, size, text, files = CONTENTS[2]
    header = content.encode_header(
        content.Header(text, tuple(content.FileEntry(n, k, len(d)) for n, k, d in files))
    )
    plain = plaintext_of(text, files)
    pieces = [plain[at : at + size] for at in range(0, len(plain), size)]
    last = len(pieces) - 1
    good = list(range(len(pieces)))  # an integer stands for the good segment of that index
    flipped = bytearray(sealed_segments(key, plain, size)[3])
    flipped[5] ^= 1
    # The last file's size is the header's last field.
    claims_more = header[:-8] + struct.pack(">Q", 3500) + plain[len(header) :]
    cases: list[Case] = [
        ("the last segment dropped", key, good[:-1], "truncated"),
        ("no segment at all", key, [], "truncated"),
        ("two segments swapped", key, [0, 2, 1, *good[3:]], "does not authenticate"),
        ("a middle segment dropped", key, [0, 1, *good[3:]], "does not authenticate"),
        ("a segment twice", key, [0, 1, 1, *good[2:]], "does not authenticate"),
        (
            "a segment of another content",
            key,
            [0, 1, sealed_segments(CONTENT_KEYS[0], plain, size)[2], *good[3:]],
            "does not authenticate",
        ),
        ("a flipped bit", key, [0, 1, 2, bytes(flipped), *good[4:]], "does not authenticate"),
        ("opened with another content key", CONTENT_KEYS[1], good, "does not authenticate"),
        (
            "the last segment sealed as not last",
            key,
            [*good[:-1], seal_one(key, last, pieces[-1], last=False)],
            "truncated",
        ),
        (
            "a middle segment sealed as last",
            key,
            [0, 1, 2, seal_one(key, 3, pieces[3], last=True), *good[4:]],
            "after the last segment",
        ),
        (
            "a segment after the last",
            key,
            [*good, seal_one(key, last + 1, bytes(size), last=True)],
            "after the last segment",
        ),
        (
            "a short segment before the last",
            key,
            [0, seal_one(key, 1, pieces[1][: size // 2], last=False), *good[2:]],
            "wrong length",
        ),
        (
            "sealed with twice the segment size",
            key,
            sealed_segments(key, plain, 2 * size),
            "wrong length",
        ),
        (
            "a last segment longer than the segment size",
            key,
            [*good[:-2], seal_one(key, last - 1, b"".join(pieces[-2:]), last=True)],
            "wrong length",
        ),
        (
            "non-zero padding",
            key,
            [*good[:-1], seal_one(key, last, pieces[-1][:-1] + b"\x01", last=True)],
            "padding",
        ),
        (
            "a header that claims more bytes than the content holds",
            key,
            sealed_segments(key, claims_more, size),
            "shorter than its header",
        ),
        (
            "zero bytes beyond the padded length",
            key,
            sealed_segments(key, plain + bytes(size), size),
            "longer than its padded length",
        ),
    ]
    return [
        {
            "name": case,
            "content": name,
            "content_key": e(case_key),
            "segment_size": size,
            "segments": [s if isinstance(s, int) else e(s) for s in segments],
            "error": error,
        }
        for case, case_key, segments, error in cases
    ]


RECEIPT_KEY = bytes(range(160, 192))
RECIPIENT_NAMES = ["Ana", "Bj\u00f6rn (vendor)", "\u674e\u534e"]


def recipient_name_vectors() -> list[dict[str, Any]]:
    """Each recipient's name sealed for the share's receipt, under its own key."""
    rows = []
    for recipient, name in enumerate(RECIPIENT_NAMES):
        key = envelope.recipient_name_key(RECEIPT_KEY, recipient)
        nonce = bytes([recipient]) * 12
        rows.append(
            {
                "recipient": recipient,
                "name": name,
                "receipt_key": e(RECEIPT_KEY),
                "name_key": e(key),
                "nonce": e(nonce),
                "sealed_name": e(envelope.seal(key, envelope.encode_label(name), nonce)),
            }
        )
    return rows


FILL_KEY = bytes(range(192, 224))
ASKER_PRIVATE = bytes(range(224, 256))
EPHEMERAL_PRIVATE = bytes(range(1, 33))
NOTE = "Please send the staging API key (the one in the vault, not prod) \u2014 thanks!"


def request_vectors() -> list[dict[str, Any]]:
    """A request and its answer's wrapped key, from fixed keys; and the same answer
    wrapped to another public key, as a changed fill link would make it."""
    fill = request.fill_keys(FILL_KEY)
    public = request.public_key(ASKER_PRIVATE)
    rows = []
    for passphrase in (None, PASSPHRASE):
        collect = request.collect_keys(ASKER_PRIVATE, passphrase)
        rows.append(
            {
                "fill_key": e(FILL_KEY),
                "fill_claim": e(fill.claim),
                "note_key": e(fill.note),
                "note": NOTE,
                "note_nonce": e(bytes(12)),
                "sealed_note": e(request.seal_note(FILL_KEY, NOTE, bytes(12))),
                "private_key": e(ASKER_PRIVATE),
                "public_key": e(public),
                "passphrase": passphrase,
                "collect_claim": e(collect.claim),
                "collect_unlock": None if collect.unlock is None else e(collect.unlock),
                "collect_manage": e(collect.manage),
                "content_key": e(CONTENT_KEYS[1]),
                "ephemeral_private": e(EPHEMERAL_PRIVATE),
                "wrap_nonce": e(bytes([7]) * 12),
                "wrapped": e(
                    request.wrap_for_asker(
                        public, CONTENT_KEYS[1], EPHEMERAL_PRIVATE, bytes([7]) * 12
                    )
                ),
                "wrapped_to_another_key": e(
                    request.wrap_for_asker(
                        request.public_key(CONTENT_KEYS[0]),
                        CONTENT_KEYS[1],
                        EPHEMERAL_PRIVATE,
                        bytes([7]) * 12,
                    )
                ),
            }
        )
    return rows


def vectors() -> dict[str, Any]:
    links = link_vectors()
    return {
        "description": (
            "burnafter protocol v2 test vectors; see docs/protocol.md (Protocol v2). "
            "All binary values are base64url without padding. In 'tampered', an integer "
            "in 'segments' is the index of a segment of the content named in 'content'. "
            "Written by python -m tools.protocol_v2_vectors write."
        ),
        "links": links,
        "tampered_wraps": tampered_wraps(links),
        "contents": [content_vector(*row) for row in CONTENTS],
        "tampered": tampered_contents(),
        "recipient_names": recipient_name_vectors(),
        "requests": request_vectors(),
        "padding": [
            {"plaintext_length": n, "padded_length": padded_length(n)}
            for n in (0, 1024, 1025, 5400, 2**32 - 1, 2**32, 2**32 + 1, 10**12 + 7, 2**52 + 1)
        ],
    }


def vectors_json() -> str:
    return json.dumps(vectors(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if argv == []:
        sys.stdout.write(vectors_json())
    elif argv == ["write"]:
        TARGET.write_text(vectors_json(), "utf-8")
    else:
        sys.stderr.write("usage: python -m tools.protocol_v2_vectors [write]\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
