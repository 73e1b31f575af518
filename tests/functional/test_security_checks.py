"""Checks behind docs/security.md that are not tested elsewhere."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.protocol.envelope import ID_BYTES, b64u_decode, verifier
from services.store import secrets
from services.store.vocabulary import RevealOutcome
from tests.support.fixtures_types import AiohttpClient, ApiClient
from tests.support.sealing import make_secret


@pytest.fixture
def compare_digest_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every call to hmac.compare_digest made by the store and the admin check."""
    calls: list[int] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(len(a))
        return original(a, b)

    monkeypatch.setattr("services.store.secrets.hmac.compare_digest", spy)
    monkeypatch.setattr("services.web.admin.auth.hmac.compare_digest", spy)
    return calls


async def test_every_proof_is_compared_in_constant_time(
    api: ApiClient, compare_digest_calls: list[int]
) -> None:
    """In Python, by hmac.compare_digest; the reveal compares inside PostgreSQL (next test)."""
    secret = make_secret(passphrase="constant-time passphrase", max_views=2)
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    steps: list[tuple[str, str, dict[str, Any], int]] = [
        ("POST", f"/api/v1/secrets/{sid}/peek", {"json": secret.claim_body()}, 1),  # claim
        ("POST", f"/api/v1/secrets/{sid}/reveal", {"json": secret.reveal_body()}, 0),  # in SQL
        ("GET", f"/api/v1/receipts/{sid}", {"headers": secret.bearer}, 1),  # manage
        ("DELETE", f"/api/v1/secrets/{sid}", {"headers": secret.bearer}, 1),  # manage
    ]
    for method, path, kwargs, comparisons in steps:
        before = len(compare_digest_calls)
        response = await api.request(method, path, **kwargs)
        assert response.status < 300, (method, path, response.status)
        assert len(compare_digest_calls) - before == comparisons, path
    assert set(compare_digest_calls) == {32}  # SHA-256 verifiers, never raw proofs


async def test_the_reveal_takes_only_whole_verifiers(
    db: asyncpg.Connection, database_url: str
) -> None:
    """burnafter_same_bytes_v2 (uploads, requests) reads every byte (a difference in
    the last one counts) and calls NULL or empty input unequal; the reveal compares by
    equality (docs/security.md): a stored claim or unlock verifier off in its last
    byte only refuses the right proof."""
    a = bytes(range(32))
    cases = [
        (a, a, True),
        (a, bytes([1]) + a[1:], False),  # differs in the first byte
        (a, a[:31] + bytes([0]), False),  # differs in the last byte only
        (a, a[:31], False),  # shorter
        (b"", b"", False),  # empty: never equal
        (None, None, False),  # NULL: never equal
        (a, None, False),
        (None, a, False),
    ]
    for left, right, expected in cases:
        assert await db.fetchval("SELECT burnafter_same_bytes_v2($1, $2)", left, right) is expected

    claim, unlock, access = b"c" * 32, b"u" * 32, secrets.Access(None, None)

    def last_byte_off(proof: bytes) -> bytes:
        return verifier(proof)[:31] + bytes([verifier(proof)[31] ^ 1])

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        stored = {
            "X" * 22: (last_byte_off(claim), verifier(unlock)),
            "Y" * 22: (verifier(claim), last_byte_off(unlock)),
            "Z" * 22: (verifier(claim), verifier(unlock)),
        }
        for secret_id, (claim_verifier, unlock_verifier) in stored.items():
            new = secrets.NewSecret(
                id=secret_id, ciphertext=b"x" * 40, claim_verifier=claim_verifier,
                unlock_verifier=unlock_verifier, manage_verifier=bytes(32), label=None,
                max_views=2, max_attempts=5, expires_in=60,
            )  # fmt: skip
            await secrets.create_secret(pool, new, access)
        results = [await secrets.reveal(pool, sid, claim, unlock, access) for sid in stored]
    finally:
        await pool.close()
    assert results[0] == secrets.Refused(RevealOutcome.NOT_FOUND)
    assert results[1] == secrets.Refused(RevealOutcome.WRONG_PASSPHRASE, 4)
    assert isinstance(results[2], secrets.Revealed)


async def test_the_admin_token_is_compared_in_constant_time(
    aiohttp_client: AiohttpClient,
    database_url: str,
    test_log: Path,
    compare_digest_calls: list[int],
) -> None:
    from services.dev.app import build_app
    from tests.support.services import make_settings

    site = await aiohttp_client(build_app(make_settings(database_url, ADMIN_TOKEN="z" * 30)))
    await site.get("/admin", headers={"Authorization": "Bearer " + "y" * 30})
    assert compare_digest_calls == [30]


async def test_ids_carry_128_random_bits(api: ApiClient) -> None:
    ids = set()
    for _ in range(200):
        response = await api.post("/api/v1/secrets", json=make_secret().body)
        ids.add((await response.json())["id"])
    assert len(ids) == 200
    assert all(len(b64u_decode(i)) == ID_BYTES == 16 for i in ids)
