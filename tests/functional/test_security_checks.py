"""Checks behind docs/security.md that are not tested elsewhere."""

from __future__ import annotations

import hmac

import pytest

from services.common.envelope import ID_BYTES, b64u_decode
from tests.support import make_secret


@pytest.fixture
def compare_digest_calls(monkeypatch):
    """Every call to hmac.compare_digest made by the store and the admin check."""
    calls: list[int] = []
    original = hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        calls.append(len(a))
        return original(a, b)

    monkeypatch.setattr("services.common.store.hmac.compare_digest", spy)
    monkeypatch.setattr("services.web.admin.hmac.compare_digest", spy)
    return calls


async def test_every_proof_is_compared_in_constant_time(api, compare_digest_calls) -> None:
    """In Python, by hmac.compare_digest; the reveal compares inside PostgreSQL (next test)."""
    secret = make_secret(passphrase="constant-time passphrase", max_views=2)
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    steps = [
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


async def test_the_reveal_compares_verifiers_byte_by_byte_in_sql(db) -> None:
    """burnafter_reveal compares both verifiers with burnafter_same_bytes, which reads
    every byte (no early exit), and with nothing else."""
    body = await db.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'burnafter_reveal'")
    assert body.count("burnafter_same_bytes(") == 2
    assert "_verifier =" not in body and "= stored_" not in body
    same = await db.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'burnafter_same_bytes'")
    assert "generate_series(0, length(a) - 1)" in same and "bit_or" in same
    a = bytes(range(32))
    cases = [
        (a, a, True),
        (a, bytes([1]) + a[1:], False),  # differs in the first byte
        (a, a[:31] + bytes([0]), False),  # differs in the last byte
        (a, a[:31], False),  # shorter
    ]
    for left, right, expected in cases:
        assert await db.fetchval("SELECT burnafter_same_bytes($1, $2)", left, right) is expected


async def test_the_admin_token_is_compared_in_constant_time(
    aiohttp_client, database_url, test_log, compare_digest_calls
) -> None:
    from services.dev import build_app
    from tests.conftest import make_settings

    site = await aiohttp_client(build_app(make_settings(database_url, ADMIN_TOKEN="z" * 30)))
    await site.get("/admin", headers={"Authorization": "Bearer " + "y" * 30})
    assert compare_digest_calls == [30]


async def test_ids_carry_128_random_bits(api) -> None:
    ids = set()
    for _ in range(200):
        response = await api.post("/api/v1/secrets", json=make_secret().body)
        ids.add((await response.json())["id"])
    assert len(ids) == 200
    assert all(len(b64u_decode(i)) == ID_BYTES == 16 for i in ids)
