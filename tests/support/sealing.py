"""Secrets sealed the way a client seals them, their material noted for the leak watch."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from services.client.api_client import prepare_secret
from services.protocol import envelope
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
