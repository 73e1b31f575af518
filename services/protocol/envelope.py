"""The envelope, protocol v1: keys, proofs, plaintext framing and AES-256-GCM.

Everything here runs on the client side (CLI, tests, and its twin in the browser);
the server only ever sees ciphertext and SHA-256 verifiers of the proofs. The
byte-level contract, with test vectors, is ``docs/protocol.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

VERSION = 1
SALT = b"burnafter/v1"
PBKDF2_ITERATIONS = 600_000
KEY_BYTES = 32
NONCE_BYTES = 12
MIN_BUCKET = 1024
LABEL_BYTES = 256
MAX_NAME_BYTES = 255
MAX_FILES = 1000
ID_BYTES = 16

_VERSION_BYTE = bytes([VERSION])


class EnvelopeError(ValueError):
    """Malformed or unauthentic envelope data. The message never holds secret bytes."""


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64u_decode(text: str) -> bytes:
    """Strict base64url without padding: any other character or a bad length is an error."""
    if not isinstance(text, str) or "=" in text or len(text) % 4 == 1:
        raise EnvelopeError("not base64url")
    try:
        raw = text.encode("ascii").translate(_FROM_URLSAFE)
        data = binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise EnvelopeError("not base64url") from None
    if b64u_encode(data) != text:  # "+" or "/" given, or non-canonical trailing bits
        raise EnvelopeError("not base64url")
    return data


def hkdf(ikm: bytes, info: str, salt: bytes = SALT) -> bytes:
    """HKDF-SHA256, 32 bytes; the salt names the protocol version (v1 unless given)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info.encode()).derive(
        ikm
    )


def stretch_passphrase(passphrase: str, link_key: bytes) -> bytes:
    """PBKDF2-HMAC-SHA256 of the NFC-normalised passphrase, salted with the link key."""
    normalised = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=link_key, iterations=PBKDF2_ITERATIONS
    )
    return kdf.derive(normalised)


def input_key_material(link_key: bytes, passphrase: str | None) -> bytes:
    """ikm: the link key, followed by the stretched passphrase when there is one."""
    return link_key if passphrase is None else link_key + stretch_passphrase(passphrase, link_key)


def verifier(proof: bytes) -> bytes:
    """What the server stores for a proof: its SHA-256."""
    return hashlib.sha256(proof).digest()


def new_link_key() -> bytes:
    return os.urandom(KEY_BYTES)


@dataclass(frozen=True)
class SecretKeys:
    """Everything derived from a link key (and passphrase, when there is one)."""

    claim: bytes
    encrypt: bytes
    unlock: bytes | None


def derive_secret_keys(link_key: bytes, passphrase: str | None = None) -> SecretKeys:
    if len(link_key) != KEY_BYTES:
        raise EnvelopeError("link key must be 32 bytes")
    ikm = input_key_material(link_key, passphrase)
    return SecretKeys(
        claim=hkdf(link_key, "claim"),
        encrypt=hkdf(ikm, "encrypt"),
        unlock=None if passphrase is None else hkdf(ikm, "unlock"),
    )


@dataclass(frozen=True)
class ReceiptKeys:
    manage: bytes
    label: bytes


def derive_receipt_keys(receipt_key: bytes) -> ReceiptKeys:
    if len(receipt_key) != KEY_BYTES:
        raise EnvelopeError("receipt key must be 32 bytes")
    return ReceiptKeys(manage=hkdf(receipt_key, "manage"), label=hkdf(receipt_key, "label"))


def recipient_name_key(receipt_key: bytes, recipient: int) -> bytes:
    """The key that seals the private name of recipient ``recipient`` of a share:
    one per recipient, so a name sealed for one does not open as another's (a
    server that swapped two names would be caught, not believed)."""
    if len(receipt_key) != KEY_BYTES:
        raise EnvelopeError("receipt key must be 32 bytes")
    return hkdf(receipt_key, f"recipient {recipient}")


def seal_recipient_name(receipt_key: bytes, recipient: int, name: str) -> bytes:
    """A recipient's name, sealed for the sender's receipt (padded as a label is)."""
    return seal(recipient_name_key(receipt_key, recipient), encode_label(name))


def open_recipient_name(receipt_key: bytes, recipient: int, sealed: bytes) -> str:
    return decode_label(unseal(recipient_name_key(receipt_key, recipient), sealed))


def seal(key: bytes, plaintext: bytes, nonce: bytes | None = None) -> bytes:
    """0x01 || nonce || AES-256-GCM(key, nonce, plaintext, aad=0x01)."""
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    return _VERSION_BYTE + nonce + AESGCM(key).encrypt(nonce, plaintext, _VERSION_BYTE)


def unseal(key: bytes, blob: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != _VERSION_BYTE:
        raise EnvelopeError("unknown envelope version or truncated ciphertext")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, _VERSION_BYTE)
    except InvalidTag:
        raise EnvelopeError("ciphertext does not decrypt with this key") from None


@dataclass(frozen=True)
class SecretFile:
    name: str
    type: str
    data: bytes


@dataclass(frozen=True)
class Payload:
    """What a sender shares: a text and any number of files."""

    text: str = ""
    files: tuple[SecretFile, ...] = ()


def padded_length(length: int) -> int:
    """Padmé: round up so the length leaks O(log log n) bits, wasting at most 12 %."""
    length = max(length, MIN_BUCKET)
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def _short_string(value: str, what: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES:
        raise EnvelopeError(f"{what} is longer than {MAX_NAME_BYTES} bytes")
    return struct.pack(">H", len(raw)) + raw


def encode_payload(payload: Payload) -> bytes:
    """Frame the text and files, then pad with zero bytes to the Padmé bucket."""
    if len(payload.files) > MAX_FILES:
        raise EnvelopeError(f"at most {MAX_FILES} files")
    text = payload.text.encode("utf-8")
    parts = [struct.pack(">I", len(text)), text, struct.pack(">H", len(payload.files))]
    for item in payload.files:
        if not item.name:
            raise EnvelopeError("a file needs a name")
        parts += [
            _short_string(item.name, "file name"),
            _short_string(item.type, "file type"),
            struct.pack(">I", len(item.data)),
            item.data,
        ]
    framed = b"".join(parts)
    return framed + bytes(padded_length(len(framed)) - len(framed))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise EnvelopeError("plaintext frame is truncated")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def number(self, fmt: str) -> int:
        (value,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return int(value)

    def text(self, fmt: str) -> str:
        try:
            return self.take(self.number(fmt)).decode("utf-8")
        except UnicodeDecodeError:
            raise EnvelopeError("plaintext frame holds invalid UTF-8") from None


def decode_payload(data: bytes) -> Payload:
    reader = _Reader(data)
    text = reader.text(">I")
    files = []
    count = reader.number(">H")
    if count > MAX_FILES:
        raise EnvelopeError(f"at most {MAX_FILES} files")
    for _ in range(count):
        name, kind = reader.text(">H"), reader.text(">H")
        if not name:
            raise EnvelopeError("a file needs a name")
        files.append(SecretFile(name=name, type=kind, data=reader.take(reader.number(">I"))))
    if any(data[reader.at :]):
        raise EnvelopeError("padding must be zero bytes")
    return Payload(text=text, files=tuple(files))


def encode_label(label: str) -> bytes:
    raw = label.encode("utf-8")
    if len(raw) > LABEL_BYTES or "\0" in label:
        raise EnvelopeError(f"a label is at most {LABEL_BYTES} bytes of text without NUL")
    return raw + bytes(LABEL_BYTES - len(raw))


def decode_label(data: bytes) -> str:
    try:
        return data.rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError("label holds invalid UTF-8") from None


@dataclass(frozen=True)
class SealedSecret:
    """A secret ready to upload, and what the sender keeps to build the links."""

    link_key: bytes
    keys: SecretKeys
    ciphertext: bytes


def seal_secret(
    payload: Payload,
    passphrase: str | None = None,
    *,
    link_key: bytes | None = None,
    nonce: bytes | None = None,
) -> SealedSecret:
    link_key = new_link_key() if link_key is None else link_key
    keys = derive_secret_keys(link_key, passphrase)
    return SealedSecret(link_key, keys, seal(keys.encrypt, encode_payload(payload), nonce))


def open_secret(ciphertext: bytes, keys: SecretKeys) -> Payload:
    return decode_payload(unseal(keys.encrypt, ciphertext))
