"""Protocol v2 requests: ask someone for a secret; the answer is sealed to the asker
(docs/protocol.md, "Requests").

The asker's client makes a fill key ``F`` (32 random bytes) and an X25519 key
pair. The fill link's fragment holds ``F`` and the public key: ``F`` proves the
holder may answer (its claim) and opens the asker's note. The collect link's
fragment holds the private key: it proves the asker (claim, unlock, manage) and
opens the answer. The responder's client seals the answer as any v2 content,
under a fresh content key, and wraps that key to the asker's public key: an
ephemeral X25519 key pair, the shared secret through HKDF salted with both public
keys. The server never holds a key that opens the note or the answer, and cannot
put a key of its own in a fill link: the public key is in the fragment.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from services.protocol.content import SALT, unwrap_content_key, wrap_content_key
from services.protocol.envelope import (
    KEY_BYTES,
    EnvelopeError,
    decode_label,
    hkdf,
    input_key_material,
    padded_length,
    seal,
    unseal,
)

PUBLIC_BYTES = 32
# An answer's wrapped content key: the ephemeral public key, then the content key
# wrapped as for a link (content.wrap_content_key).
WRAPPED_ANSWER_BYTES = PUBLIC_BYTES + 1 + 12 + KEY_BYTES + 16
NOTE_BYTES = 2000  # of UTF-8 at most, padded as a v1 plaintext is (Padmé)


@dataclass(frozen=True)
class FillKeys:
    """What a fill link's key gives its holder: the claim to answer, the note's key."""

    claim: bytes
    note: bytes


@dataclass(frozen=True)
class CollectKeys:
    """What a collect link's private key (and the answer's passphrase) give the asker."""

    claim: bytes
    unlock: bytes | None
    manage: bytes


def fill_keys(fill_key: bytes) -> FillKeys:
    if len(fill_key) != KEY_BYTES:
        raise EnvelopeError("fill key must be 32 bytes")
    return FillKeys(claim=hkdf(fill_key, "request claim", SALT), note=hkdf(fill_key, "note", SALT))


def new_private_key() -> bytes:
    return X25519PrivateKey.generate().private_bytes_raw()


def public_key(private_key: bytes) -> bytes:
    return _private(private_key).public_key().public_bytes_raw()


def collect_keys(private_key: bytes, passphrase: str | None = None) -> CollectKeys:
    """The asker's proofs: the claim and manage token come from the private key; the
    unlock proof, when the asker set a passphrase on the answer, from both."""
    _private(private_key)
    ikm = input_key_material(private_key, passphrase)
    return CollectKeys(
        claim=hkdf(private_key, "collect claim", SALT),
        unlock=None if passphrase is None else hkdf(ikm, "collect unlock", SALT),
        manage=hkdf(private_key, "collect manage", SALT),
    )


def seal_note(fill_key: bytes, note: str, nonce: bytes | None = None) -> bytes:
    """The asker's note, for holders of the fill link: UTF-8, zero-padded (Padmé)."""
    raw = note.encode("utf-8")
    if len(raw) > NOTE_BYTES or "\0" in note:
        raise EnvelopeError(f"a note is at most {NOTE_BYTES} bytes of text without NUL")
    padded = raw + bytes(padded_length(len(raw)) - len(raw))
    return seal(fill_keys(fill_key).note, padded, nonce)


def open_note(fill_key: bytes, sealed: bytes) -> str:
    """The note: zero-padded UTF-8, as a label is."""
    return decode_label(unseal(fill_keys(fill_key).note, sealed))


def _wrap_key(shared: bytes, ephemeral_public: bytes, asker_public: bytes) -> bytes:
    if shared == bytes(len(shared)):
        raise EnvelopeError("a public key of small order")
    return hkdf(shared, "request wrap", ephemeral_public + asker_public)


def wrap_for_asker(
    asker_public: bytes,
    content_key: bytes,
    ephemeral: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """The answer's content key, for the holder of ``asker_public``'s private key
    only: ephemeral public key (32 bytes) || content.wrap_content_key (61 bytes)."""
    if len(asker_public) != PUBLIC_BYTES:
        raise EnvelopeError("a public key is 32 bytes")
    mine = X25519PrivateKey.generate() if ephemeral is None else _private(ephemeral)
    mine_public = mine.public_key().public_bytes_raw()
    try:
        shared = mine.exchange(X25519PublicKey.from_public_bytes(asker_public))
    except ValueError:
        raise EnvelopeError("a public key of small order") from None
    wrap = _wrap_key(shared, mine_public, asker_public)
    return mine_public + wrap_content_key(wrap, content_key, nonce)


def unwrap_as_asker(private_key: bytes, wrapped: bytes) -> bytes:
    """The answer's content key. Raises ContentError when it was not wrapped to this
    key pair: a fill link whose public key was changed cannot make an answer the
    asker's collect link opens."""
    if len(wrapped) != WRAPPED_ANSWER_BYTES:
        raise EnvelopeError("an answer's wrapped key is 93 bytes")
    mine = _private(private_key)
    ephemeral_public = wrapped[:PUBLIC_BYTES]
    try:
        shared = mine.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError:
        raise EnvelopeError("a public key of small order") from None
    wrap = _wrap_key(shared, ephemeral_public, mine.public_key().public_bytes_raw())
    return unwrap_content_key(wrap, wrapped[PUBLIC_BYTES:])


def _private(private_key: bytes) -> X25519PrivateKey:
    if len(private_key) != KEY_BYTES:
        raise EnvelopeError("a private key is 32 bytes")
    return X25519PrivateKey.from_private_bytes(private_key)
