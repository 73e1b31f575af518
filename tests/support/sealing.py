"""Secrets sealed the way a client seals them, their material noted for the leak watch."""

from __future__ import annotations

import io
import os
import secrets
from dataclasses import dataclass
from typing import Any

from services.client.api_client import prepare_secret
from services.protocol import content, envelope
from services.protocol.content import LinkKeys
from services.protocol.envelope import Payload, SecretKeys, b64u_decode, b64u_encode
from tests.support.leaks import LEAK_WATCH


def secret_passphrase() -> str:
    """A passphrase unique to one test, watched for leaks."""
    return f"passphrase-{secrets.token_hex(8)}"


def secret_text() -> str:
    """A plaintext unique to one test, watched for leaks."""
    text = f"plaintext-{secrets.token_hex(12)}"
    LEAK_WATCH.add("plaintext", text)
    return text


@dataclass(frozen=True)
class MadeSecret:
    """A secret sealed as a client would, before it is posted."""

    body: dict[str, Any]
    text: str
    link_key: bytes
    keys: SecretKeys
    manage: bytes
    passphrase: str | None

    def claim_body(self) -> dict[str, str]:
        return {"claim": b64u_encode(self.keys.claim)}

    def reveal_body(self, passphrase: str | None = None) -> dict[str, str]:
        body = self.claim_body()
        unlock = (
            self.keys.unlock
            if passphrase is None
            else envelope.derive_secret_keys(self.link_key, passphrase).unlock
        )
        if unlock is not None:
            body["unlock"] = b64u_encode(unlock)
        return body

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {b64u_encode(self.manage)}"}


def make_secret(
    passphrase: str | None = None, label: str | None = None, **fields: Any
) -> MadeSecret:
    """Seal a fresh text as the client does; ``fields`` go into the body as they are."""
    text = secret_text()
    prepared = prepare_secret(Payload(text=text), passphrase=passphrase, label=label)
    for what, value in [
        ("link key", prepared.link_key),
        ("claim", prepared.keys.claim),
        ("unlock", prepared.keys.unlock),
        ("passphrase", passphrase),
        ("label", label),
        ("receipt key", prepared.receipt_key),
        ("manage", prepared.receipt_keys.manage),
    ]:
        if value:
            LEAK_WATCH.add(what, value)
    LEAK_WATCH.add_ciphertext(b64u_decode(prepared.body["ciphertext"]))
    return MadeSecret(
        {**prepared.body, **fields},
        text,
        prepared.link_key,
        prepared.keys,
        prepared.receipt_keys.manage,
        passphrase,
    )


@dataclass(frozen=True)
class SealedContent:
    """A protocol v2 content sealed as a client seals it, with its one link's keys
    and the create body, every secret part of it watched for leaks."""

    body: dict[str, Any]
    segments: list[bytes]
    keys: LinkKeys
    content_key: bytes
    manage: bytes

    def claim(self) -> dict[str, str]:
        return {"claim": b64u_encode(self.keys.claim)}


def seal_content(
    segment_size: int, text: str = "", data: bytes = b"", **fields: Any
) -> SealedContent:
    """``text`` and, when given, one file of ``data``, in segments of ``segment_size``."""
    link_key, content_key, manage = os.urandom(32), content.new_content_key(), os.urandom(32)
    keys = content.derive_link_keys(link_key)
    files = [content.FileSource("dump.sql", "application/sql", len(data), io.BytesIO(data))]
    sealer = content.ContentSealer(content_key, text, files if data else (), segment_size)
    segments = list(sealer)
    for what, value in [
        ("link key", link_key),
        ("claim", keys.claim),
        ("content key", content_key),
        ("manage", manage),
    ]:
        LEAK_WATCH.add(what, value)
    body = {
        "segment_size": segment_size,
        "segment_count": len(segments),
        "sealed_bytes": sum(map(len, segments)),
        "first_segment": b64u_encode(segments[0]),
        "wrapped_key": b64u_encode(content.wrap_content_key(keys.wrap, content_key)),
        "claim_verifier": b64u_encode(envelope.verifier(keys.claim)),
        "manage_verifier": b64u_encode(envelope.verifier(manage)),
        **fields,
    }
    return SealedContent(body, segments, keys, content_key, manage)


@dataclass(frozen=True)
class Recipient:
    """One recipient of a share as its sender chose: a name, maybe a passphrase, views."""

    name: str
    passphrase: str | None = None
    max_views: int = 1


@dataclass(frozen=True)
class SealedShare:
    """A content sealed once with one link per recipient, as a client makes a share:
    the create body, each recipient's link keys, and the receipt key. Names, keys
    and passphrases are watched for leaks."""

    body: dict[str, Any]
    segments: list[bytes]
    links: list[LinkKeys]
    receipt_key: bytes
    manage: bytes

    def claim(self, recipient: int) -> dict[str, str]:
        return {"claim": b64u_encode(self.links[recipient].claim)}

    def proofs(self, recipient: int) -> dict[str, str]:
        """What a reveal of ``recipient``'s link carries, its passphrase typed right."""
        keys = self.links[recipient]
        unlock = {} if keys.unlock is None else {"unlock": b64u_encode(keys.unlock)}
        return {**self.claim(recipient), **unlock}


def seal_share(
    segment_size: int, recipients: list[Recipient], data: bytes = b"", **fields: Any
) -> SealedShare:
    """One file of ``data`` (or no file), sealed once, for ``recipients``."""
    content_key, receipt_key = content.new_content_key(), os.urandom(32)
    manage = envelope.derive_receipt_keys(receipt_key).manage
    files = [content.FileSource("dump.sql", "application/sql", len(data), io.BytesIO(data))]
    segments = list(content.ContentSealer(content_key, "", files if data else (), segment_size))
    LEAK_WATCH.add("content key", content_key)
    LEAK_WATCH.add("receipt key", receipt_key)
    LEAK_WATCH.add("manage", manage)
    links, entries = [], []
    for number, recipient in enumerate(recipients):
        link_key = os.urandom(32)
        keys = content.derive_link_keys(link_key, recipient.passphrase)
        LEAK_WATCH.add("link key", link_key)
        LEAK_WATCH.add("claim", keys.claim)
        LEAK_WATCH.add("recipient name", recipient.name)
        if recipient.passphrase is not None:
            LEAK_WATCH.add("passphrase", recipient.passphrase)
        links.append(keys)
        entry = {
            "claim_verifier": b64u_encode(envelope.verifier(keys.claim)),
            "wrapped_key": b64u_encode(content.wrap_content_key(keys.wrap, content_key)),
            "max_views": recipient.max_views,
            "name": b64u_encode(envelope.seal_recipient_name(receipt_key, number, recipient.name)),
        }
        if keys.unlock is not None:
            entry["unlock_verifier"] = b64u_encode(envelope.verifier(keys.unlock))
        entries.append(entry)
    body = {
        "segment_size": segment_size,
        "segment_count": len(segments),
        "sealed_bytes": sum(map(len, segments)),
        "first_segment": b64u_encode(segments[0]),
        "manage_verifier": b64u_encode(envelope.verifier(manage)),
        "recipients": entries,
        **fields,
    }
    return SealedShare(body, segments, links, receipt_key, manage)
