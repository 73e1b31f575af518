"""The lifecycle of a secret through the api, on real PostgreSQL over real HTTP."""

from __future__ import annotations

import asyncio
import os

import asyncpg

from services.protocol.envelope import Payload, b64u_decode, b64u_encode, open_secret
from services.server.settings import Settings
from services.worker.reaper import reap_once
from tests.support.cli import cli
from tests.support.fixtures_types import ApiClient, StartService
from tests.support.sealing import MadeSecret, make_secret, secret_passphrase
from tests.support.waiting import eventually

CREATE = "/api/v1/secrets"


async def create(api: ApiClient, secret: MadeSecret) -> str:
    response = await api.post(CREATE, json=secret.body)
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def test_create_peek_reveal_returns_the_ciphertext_that_decrypts(api: ApiClient) -> None:
    secret = make_secret()
    secret_id = await create(api, secret)
    peek = await api.post(f"{CREATE}/{secret_id}/peek", json=secret.claim_body())
    assert peek.status == 200
    assert (await peek.json())["views_left"] == 1
    assert (await peek.json())["passphrase_required"] is False
    reveal = await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())
    assert reveal.status == 200
    body = await reveal.json()
    assert body["views_left"] == 0
    assert open_secret(b64u_decode(body["ciphertext"]), secret.keys) == Payload(secret.text)


async def test_second_reveal_is_404_and_the_row_is_gone(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret()
    secret_id = await create(api, secret)
    assert (await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())).status == 200
    second = await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())
    assert second.status == 404
    assert second.content_type == "application/problem+json"
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0


async def test_peek_never_spends_a_view(api: ApiClient) -> None:
    secret = make_secret(max_views=2)
    secret_id = await create(api, secret)
    for _ in range(5):
        peek = await api.post(f"{CREATE}/{secret_id}/peek", json=secret.claim_body())
        assert (await peek.json())["views_left"] == 2


async def test_get_of_anything_never_spends_a_view(api: ApiClient, db: asyncpg.Connection) -> None:
    secret = make_secret()
    secret_id = await create(api, secret)
    for path in [
        f"{CREATE}/{secret_id}",
        f"{CREATE}/{secret_id}/reveal",
        f"{CREATE}/{secret_id}/peek",
        f"/api/v1/receipts/{secret_id}",
        f"/s/{secret_id}",
        f"/api/v1/s/{secret_id}",
    ]:
        for method in ("GET", "HEAD"):
            response = await api.request(method, path)
            assert response.status in (401, 404, 405), (method, path, response.status)
    assert await db.fetchval("SELECT views_left FROM secrets WHERE id = $1", secret_id) == 1
    assert (await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())).status == 200


async def test_wrong_claim_answers_exactly_like_an_unknown_id(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(max_views=3)
    secret_id = await create(api, secret)
    unknown_id = b64u_encode(os.urandom(16))
    wrong = {"claim": b64u_encode(os.urandom(32))}
    for action in ("peek", "reveal"):
        a = await api.post(f"{CREATE}/{secret_id}/{action}", json=wrong)
        b = await api.post(f"{CREATE}/{unknown_id}/{action}", json=wrong)
        assert a.status == b.status == 404
        assert await a.json() == await b.json()
        assert sorted(a.headers) == sorted(b.headers)
    row = await db.fetchrow(
        "SELECT views_left, attempts_left FROM secrets WHERE id = $1", secret_id
    )
    assert tuple(row) == (3, 5)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM access_events WHERE secret_id = $1 AND event <> 'created'",
            secret_id,
        )
        == 0
    )


async def test_max_views_counts_down_then_burns(api: ApiClient) -> None:
    secret = make_secret(max_views=3)
    secret_id = await create(api, secret)
    left = []
    for _ in range(3):
        response = await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())
        left.append((await response.json())["views_left"])
    assert left == [2, 1, 0]
    assert (await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())).status == 404


async def test_passphrase_wrong_guesses_count_down_then_lock(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(passphrase=secret_passphrase())
    secret_id = await create(api, secret)
    peek = await api.post(f"{CREATE}/{secret_id}/peek", json=secret.claim_body())
    assert (await peek.json())["passphrase_required"] is True

    missing = await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.claim_body())
    assert missing.status == 401
    assert (await missing.json())["attempts_left"] == 5  # asking without one costs nothing

    seen = []
    for _ in range(5):
        response = await api.post(
            f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body(passphrase="wrong")
        )
        assert response.status == 401
        seen.append((await response.json())["attempts_left"])
    assert seen == [4, 3, 2, 1, 0]
    right = await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())
    assert right.status == 404
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0
    receipt = await api.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)
    body = await receipt.json()
    assert body["state"] == "locked"
    assert body["failed_attempts"] == 5
    assert [e["event"] for e in body["events"]] == ["created"] + ["unlock_failed"] * 5 + ["locked"]


async def test_right_passphrase_after_wrong_ones_reveals(api: ApiClient) -> None:
    secret = make_secret(passphrase=secret_passphrase())
    secret_id = await create(api, secret)
    await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body(passphrase="nope"))
    response = await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())
    assert response.status == 200
    assert (
        open_secret(b64u_decode((await response.json())["ciphertext"]), secret.keys).text
        == secret.text
    )


async def expire_now(db: asyncpg.Connection, secret_id: str) -> None:
    """Move a secret's expiry into the past, as time would."""
    await db.execute(
        "UPDATE secrets SET expires_at = now() - interval '1 second' WHERE id = $1", secret_id
    )
    await db.execute(
        "UPDATE receipts SET expires_at = now() - interval '1 second' WHERE id = $1", secret_id
    )


async def test_expired_secret_is_never_served_even_before_the_reaper(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret()
    secret_id = await create(api, secret)
    await expire_now(db, secret_id)
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 1
    for action in ("peek", "reveal"):
        response = await api.post(f"{CREATE}/{secret_id}/{action}", json=secret.reveal_body())
        assert response.status == 404
    receipt = await (await api.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)).json()
    assert receipt["state"] == "expired"
    revoke = await api.delete(f"{CREATE}/{secret_id}", headers=secret.bearer)
    assert revoke.status == 409
    assert (await revoke.json())["state"] == "expired"


async def test_reaper_deletes_expired_secrets_and_marks_receipts(
    api: ApiClient, db: asyncpg.Connection, settings: Settings
) -> None:
    expired, alive = make_secret(), make_secret()
    expired_id, alive_id = await create(api, expired), await create(api, alive)
    await expire_now(db, expired_id)
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    batches: list[tuple[str, list[str]]] = []
    try:
        result = await reap_once(pool, settings, lambda kind, ids: batches.append((kind, ids)))
    finally:
        await pool.close()
    assert (result.expired, batches) == (1, [("expired", [expired_id])])
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", expired_id) == 0
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", alive_id) == 1
    receipt = await (await api.get(f"/api/v1/receipts/{expired_id}", headers=expired.bearer)).json()
    assert receipt["state"] == "expired"
    assert [e["event"] for e in receipt["events"]] == ["created", "expired"]


async def test_reaper_once_command_and_receipt_purge(
    api: ApiClient, db: asyncpg.Connection, database_url: str
) -> None:
    secret, viewed = make_secret(), make_secret()
    secret_id, viewed_id = await create(api, secret), await create(api, viewed)
    await expire_now(db, secret_id)
    assert (await api.post(f"{CREATE}/{viewed_id}/reveal", json=viewed.reveal_body())).status == 200
    await db.execute(
        "UPDATE receipts SET ended_at = now() - interval '8 days' WHERE id = $1", viewed_id
    )
    done = await cli("reaper", "--once", env={"DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0
    assert await db.fetchval("SELECT state FROM receipts WHERE id = $1", secret_id) == "expired"
    assert await db.fetchval("SELECT count(*) FROM receipts WHERE id = $1", viewed_id) == 0
    assert (
        await db.fetchval("SELECT count(*) FROM access_events WHERE secret_id = $1", viewed_id) == 0
    )


async def test_reaper_loop_reaps_then_stops_cleanly_on_sigterm(
    api: ApiClient, db: asyncpg.Connection, database_url: str, start_service: StartService
) -> None:
    secret = make_secret()
    secret_id = await create(api, secret)
    await expire_now(db, secret_id)
    reaper = start_service("reaper", database_url, REAPER_INTERVAL="0.2")

    async def reaped() -> bool:
        return not await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id)

    await eventually(reaped, what="the reaper deleted the expired secret")
    assert await db.fetchval("SELECT state FROM receipts WHERE id = $1", secret_id) == "expired"
    assert await asyncio.to_thread(reaper.stop) == 0


async def test_revoke_through_the_receipt_and_status_shows_each_event(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(max_views=2, label="for the staging db")
    secret_id = await create(api, secret)
    assert (await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())).status == 200
    wrong = {"Authorization": f"Bearer {b64u_encode(os.urandom(32))}"}
    assert (await api.delete(f"{CREATE}/{secret_id}", headers=wrong)).status == 404
    assert (await api.get(f"/api/v1/receipts/{secret_id}", headers=wrong)).status == 404
    assert (await api.delete(f"{CREATE}/{secret_id}")).status == 401
    assert (await api.delete(f"{CREATE}/{secret_id}", headers=secret.bearer)).status == 204
    assert (await api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body())).status == 404
    again = await api.delete(f"{CREATE}/{secret_id}", headers=secret.bearer)
    assert again.status == 409
    receipt = await (await api.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)).json()
    assert receipt["state"] == "revoked"
    assert receipt["views"] == 1
    assert receipt["label"] is not None
    assert [e["event"] for e in receipt["events"]] == ["created", "viewed", "revoked"]
    assert all(e["client_address"] == "127.0.0.0/24" for e in receipt["events"])
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0


async def test_revoke_racing_reveals_ends_in_one_consistent_state(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    # One view more than the reveals racing the revoke, so they cannot spend it all
    # before the revoke comes in (it would rightly get 409): whichever order the
    # database picks, the revoke finds it live.
    secret = make_secret(max_views=11)
    secret_id = await create(api, secret)
    reveals = [
        api.post(f"{CREATE}/{secret_id}/reveal", json=secret.reveal_body()) for _ in range(10)
    ]
    results = await asyncio.gather(
        api.delete(f"{CREATE}/{secret_id}", headers=secret.bearer), *reveals
    )
    revoke, *views = results
    assert revoke.status == 204
    served = sum(r.status == 200 for r in views)
    assert all(r.status in (200, 404) for r in views)
    receipt = await (await api.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)).json()
    assert receipt["state"] == "revoked"
    assert receipt["views"] == served
    assert [e["event"] for e in receipt["events"]].count("viewed") == served
