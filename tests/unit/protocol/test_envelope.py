"""The envelope against the published test vectors, and against independent
stdlib implementations of HKDF (RFC 5869) and PBKDF2."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from services.protocol import envelope
from services.protocol.envelope import (
    EnvelopeError,
    Payload,
    SecretFile,
    b64u_decode,
    b64u_encode,
)

VECTORS = json.loads(
    (Path(__file__).parents[3] / "docs" / "protocol-v1-vectors.json").read_text("utf-8")
)


def rfc5869_hkdf(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(b"burnafter/v1", ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def payload_of(vector: dict[str, Any]) -> Payload:
    files = tuple(SecretFile(f["name"], f["type"], b64u_decode(f["data"])) for f in vector["files"])
    return Payload(vector["text"], files)


@pytest.mark.parametrize("vector", VECTORS["secrets"], ids=lambda v: v["name"])
def test_secret_vectors_match_the_python_envelope(vector: dict[str, Any]) -> None:
    key, nonce = b64u_decode(vector["link_key"]), b64u_decode(vector["nonce"])
    sealed = envelope.seal_secret(
        payload_of(vector), vector["passphrase"], link_key=key, nonce=nonce
    )
    assert b64u_encode(sealed.keys.claim) == vector["claim"]
    assert b64u_encode(envelope.verifier(sealed.keys.claim)) == vector["claim_verifier"]
    assert b64u_encode(sealed.keys.encrypt) == vector["encrypt_key"]
    unlock = None if sealed.keys.unlock is None else b64u_encode(sealed.keys.unlock)
    assert unlock == vector["unlock"]
    assert b64u_encode(sealed.ciphertext) == vector["ciphertext"]
    opened = envelope.open_secret(b64u_decode(vector["ciphertext"]), sealed.keys)
    assert opened == payload_of(vector)


@pytest.mark.parametrize("vector", VECTORS["secrets"], ids=lambda v: v["name"])
def test_secret_vectors_match_an_independent_derivation(vector: dict[str, Any]) -> None:
    key = b64u_decode(vector["link_key"])
    ikm = key
    if vector["passphrase"] is not None:
        normal = unicodedata.normalize("NFC", vector["passphrase"]).encode()
        ikm = key + hashlib.pbkdf2_hmac("sha256", normal, key, 600_000, 32)
    assert b64u_encode(rfc5869_hkdf(key, b"claim")) == vector["claim"]
    assert b64u_encode(rfc5869_hkdf(ikm, b"encrypt")) == vector["encrypt_key"]
    if vector["passphrase"] is not None:
        assert b64u_encode(rfc5869_hkdf(ikm, b"unlock")) == vector["unlock"]
    framed = b64u_decode(vector["padded_plaintext"])
    assert len(framed) == vector["padded_plaintext_length"]
    assert envelope.decode_payload(framed) == payload_of(vector)


def test_receipt_vector() -> None:
    (vector,) = VECTORS["receipts"]
    keys = envelope.derive_receipt_keys(b64u_decode(vector["receipt_key"]))
    assert b64u_encode(keys.manage) == vector["manage"]
    assert b64u_encode(keys.label) == vector["label_key"]
    assert (
        b64u_encode(rfc5869_hkdf(b64u_decode(vector["receipt_key"]), b"manage")) == vector["manage"]
    )
    sealed = envelope.seal(
        keys.label, envelope.encode_label(vector["label"]), b64u_decode(vector["nonce"])
    )
    assert b64u_encode(sealed) == vector["sealed_label"]
    assert envelope.decode_label(envelope.unseal(keys.label, sealed)) == vector["label"]


@pytest.mark.parametrize("row", VECTORS["padding"], ids=lambda r: str(r["framed_length"]))
def test_padding_buckets(row: dict[str, int]) -> None:
    assert envelope.padded_length(row["framed_length"]) == row["padded_length"]


def test_padding_never_wastes_more_than_twelve_percent() -> None:
    for length in range(1024, 3_000_000, 997):
        padded = envelope.padded_length(length)
        assert length <= padded <= length * 1.12


def test_passphrase_in_nfd_and_nfc_give_the_same_keys() -> None:
    key = bytes(32)
    nfc = envelope.derive_secret_keys(key, unicodedata.normalize("NFC", "é"))
    nfd = envelope.derive_secret_keys(key, unicodedata.normalize("NFD", "é"))
    assert nfc == nfd


def test_claim_does_not_depend_on_the_passphrase() -> None:
    key = bytes(range(32))
    assert envelope.derive_secret_keys(key, "a").claim == envelope.derive_secret_keys(key).claim
    assert envelope.derive_secret_keys(key, "a").encrypt != envelope.derive_secret_keys(key).encrypt


def test_wrong_key_does_not_decrypt() -> None:
    sealed = envelope.seal_secret(Payload("x"))
    other = envelope.derive_secret_keys(envelope.new_link_key())
    with pytest.raises(EnvelopeError):
        envelope.open_secret(sealed.ciphertext, other)


def test_tampered_ciphertext_does_not_decrypt() -> None:
    sealed = envelope.seal_secret(Payload("x"))
    tampered = bytearray(sealed.ciphertext)
    tampered[-1] ^= 1
    with pytest.raises(EnvelopeError):
        envelope.open_secret(bytes(tampered), sealed.keys)


def test_unknown_version_byte_is_refused() -> None:
    sealed = envelope.seal_secret(Payload("x"))
    with pytest.raises(EnvelopeError):
        envelope.open_secret(b"\x02" + sealed.ciphertext[1:], sealed.keys)


def test_files_round_trip_with_empty_and_binary_content() -> None:
    payload = Payload(
        "", (SecretFile("empty.txt", "text/plain", b""), SecretFile("b", "", bytes(range(256)) * 9))
    )
    assert envelope.decode_payload(envelope.encode_payload(payload)) == payload


@pytest.mark.parametrize(
    "framed",
    [
        b"",
        b"\x00\x00\x00\x05abc",  # text longer than the frame
        b"\x00\x00\x00\x01\xff\x00\x00",  # invalid UTF-8
        b"\x00\x00\x00\x00\x00\x01\x00\x00",  # a file with no name
        b"\x00\x00\x00\x00\x00\x00\x01",  # non-zero padding
    ],
)
def test_malformed_frames_are_refused(framed: bytes) -> None:
    with pytest.raises(EnvelopeError):
        envelope.decode_payload(framed)


@pytest.mark.parametrize("text", ["a", "ab=", "a+b", "a/b", "é", "AB", "A B"])
def test_b64u_decode_is_strict(text: str) -> None:
    with pytest.raises(EnvelopeError):
        b64u_decode(text)


def test_b64u_round_trips() -> None:
    for size in range(70):
        data = bytes(range(size))
        assert b64u_decode(b64u_encode(data)) == data


def test_label_longer_than_its_box_is_refused() -> None:
    with pytest.raises(EnvelopeError):
        envelope.encode_label("x" * (envelope.LABEL_BYTES + 1))


def test_a_frame_of_more_than_1000_files_is_refused() -> None:
    """Review finding 12: the decoder enforces the encoder's limit."""
    one_file = struct.pack(">H", 1) + b"a" + struct.pack(">H", 0) + struct.pack(">I", 0)

    def frame(count: int) -> bytes:
        return struct.pack(">I", 0) + struct.pack(">H", count) + one_file * count

    assert len(envelope.decode_payload(frame(envelope.MAX_FILES)).files) == envelope.MAX_FILES
    with pytest.raises(EnvelopeError, match="1000 files"):
        envelope.decode_payload(frame(envelope.MAX_FILES + 1))
