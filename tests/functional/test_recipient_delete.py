"""A recipient deletes a secret when done, where its sender allowed it (issue 14),
through the api on real PostgreSQL over real HTTP."""

from __future__ import annotations

import os

import asyncpg

from services.protocol.envelope import b64u_encode
from tests.support.fixtures_types import ApiClient
from tests.support.sealing import MadeSecret, make_secret, secret_passphrase

SECRETS = "/api/v1/secrets"


async def create(api: ApiClient, secret: MadeSecret) -> str:
    response = await api.post(SECRETS, json=secret.body)
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def receipt_of(api: ApiClient, secret: MadeSecret, secret_id: str) -> dict[str, object]:
    response = await api.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)
    assert response.status == 200
    body: dict[str, object] = await response.json()
    return body


async def test_a_recipient_deletes_a_multi_view_secret_when_the_sender_allowed_it(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(max_views=3, recipient_may_delete=True)
    secret_id = await create(api, secret)
    reveal = await api.post(f"{SECRETS}/{secret_id}/reveal", json=secret.reveal_body())
    assert await reveal.json() | {"ciphertext": None} == {
        "version": 1,
        "ciphertext": None,
        "views_left": 2,
        "recipient_may_delete": True,
    }
    deleted = await api.post(f"{SECRETS}/{secret_id}/delete", json=secret.reveal_body())
    assert deleted.status == 204
    after = await api.post(f"{SECRETS}/{secret_id}/reveal", json=secret.reveal_body())
    assert after.status == 404
    again = await api.post(f"{SECRETS}/{secret_id}/delete", json=secret.reveal_body())
    assert again.status == 404
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0
    receipt = await receipt_of(api, secret, secret_id)
    assert receipt["state"] == "deleted"
    assert receipt["recipient_may_delete"] is True
    assert receipt["ended_at"] is not None
    events = receipt["events"]
    assert isinstance(events, list)
    assert [event["event"] for event in events] == ["created", "viewed", "deleted"]
    # The sender cannot revoke what is gone, and is told why.
    revoke = await api.delete(f"{SECRETS}/{secret_id}", headers=secret.bearer)
    assert revoke.status == 409
    assert (await revoke.json())["state"] == "deleted"


async def test_without_the_senders_leave_a_delete_is_refused_and_changes_nothing(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(max_views=2)
    secret_id = await create(api, secret)
    refused = await api.post(f"{SECRETS}/{secret_id}/delete", json=secret.reveal_body())
    assert refused.status == 403
    assert (await refused.json())["type"] == "urn:burnafter:problem:delete-not-allowed"
    assert await db.fetchval("SELECT views_left FROM secrets WHERE id = $1", secret_id) == 2
    reveal = await api.post(f"{SECRETS}/{secret_id}/reveal", json=secret.reveal_body())
    assert (await reveal.json())["recipient_may_delete"] is False
    assert (await receipt_of(api, secret, secret_id))["state"] == "active"


async def test_a_stranger_without_the_link_gets_the_answer_of_an_unknown_id(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(max_views=2, recipient_may_delete=True)
    secret_id = await create(api, secret)
    wrong = {"claim": b64u_encode(os.urandom(32))}
    stranger = await api.post(f"{SECRETS}/{secret_id}/delete", json=wrong)
    unknown = await api.post(f"{SECRETS}/{b64u_encode(os.urandom(16))}/delete", json=wrong)
    assert stranger.status == unknown.status == 404
    assert await stranger.json() == await unknown.json()
    assert await db.fetchval("SELECT views_left FROM secrets WHERE id = $1", secret_id) == 2


async def test_a_delete_needs_the_passphrase_and_a_wrong_one_spends_an_attempt(
    api: ApiClient,
) -> None:
    passphrase = secret_passphrase()
    secret = make_secret(
        passphrase=passphrase, max_views=2, max_attempts=3, recipient_may_delete=True
    )
    secret_id = await create(api, secret)
    bare = await api.post(f"{SECRETS}/{secret_id}/delete", json=secret.claim_body())
    assert bare.status == 401
    assert await bare.json() | {"detail": None} == {
        "type": "urn:burnafter:problem:passphrase-required",
        "title": "Passphrase required",
        "status": 401,
        "detail": None,
        "attempts_left": 3,
    }
    guess = secret.reveal_body(passphrase="not it")
    wrong = await api.post(f"{SECRETS}/{secret_id}/delete", json=guess)
    assert wrong.status == 401
    assert (await wrong.json())["attempts_left"] == 2
    receipt = await receipt_of(api, secret, secret_id)
    assert receipt["failed_attempts"] == 1
    assert receipt["state"] == "active"
    right = await api.post(f"{SECRETS}/{secret_id}/delete", json=secret.reveal_body())
    assert right.status == 204
    assert (await receipt_of(api, secret, secret_id))["state"] == "deleted"


async def test_the_create_field_takes_only_true_or_false(api: ApiClient) -> None:
    for value in ("yes", 1, None, [True]):
        response = await api.post(SECRETS, json=make_secret(recipient_may_delete=value).body)
        assert response.status == 400, value
        assert (await response.json())["field"] == "recipient_may_delete"
