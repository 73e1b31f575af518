"""Every limit violated once: a clear 4xx problem response, and nothing stored or changed."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import asyncpg
import pytest

from services.protocol.envelope import b64u_encode
from services.server.settings import MiB
from tests.support.fixtures_types import AiohttpClient, ApiClient
from tests.support.sealing import make_secret, secret_passphrase

CREATE = "/api/v1/secrets"


async def table_counts(db: asyncpg.Connection) -> tuple[int, int, int]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM secrets), (SELECT count(*) FROM receipts),"
        " (SELECT count(*) FROM access_events)"
    )
    return tuple(row)


def json_body(body: dict[str, Any]) -> dict[str, Any]:
    """Request arguments for a JSON body of any size (large bytes would warn)."""
    return {
        "data": io.BytesIO(json.dumps(body).encode()),
        "headers": {"Content-Type": "application/json"},
    }


def ciphertext(size: int, version: int = 1) -> str:
    return b64u_encode(bytes([version]) + os.urandom(size - 1))


BAD_CREATES: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("max_views 0", {"max_views": 0}, 400, "max_views"),
    ("max_views 101", {"max_views": 101}, 400, "max_views"),
    ("max_views as text", {"max_views": "3"}, 400, "max_views"),
    ("max_views as bool", {"max_views": True}, 400, "max_views"),
    ("max_views as float", {"max_views": 1.5}, 400, "max_views"),
    ("max_views as huge float", {"max_views": 1e300}, 400, "max_views"),
    ("expires_in under 60 s", {"expires_in": 59}, 400, "expires_in"),
    ("expires_in over 30 days", {"expires_in": 30 * 86400 + 1}, 400, "expires_in"),
    ("max_attempts 0", {"max_attempts": 0}, 400, "max_attempts"),
    ("max_attempts over the limit", {"max_attempts": 6}, 400, "max_attempts"),
    ("claim verifier too short", {"claim_verifier": b64u_encode(bytes(31))}, 400, "claim_verifier"),
    ("claim verifier not base64url", {"claim_verifier": "*" * 43}, 400, "claim_verifier"),
    (
        "claim verifier padded base64",
        {"claim_verifier": b64u_encode(bytes(32)) + "="},
        400,
        "claim_verifier",
    ),
    ("claim verifier missing", {"claim_verifier": None}, 400, "claim_verifier"),
    (
        "unlock verifier too long",
        {"unlock_verifier": b64u_encode(bytes(33))},
        400,
        "unlock_verifier",
    ),
    ("manage verifier a number", {"manage_verifier": 7}, 400, "manage_verifier"),
    ("unknown field", {"passphrase": "hunter2"}, 400, "passphrase"),
    (
        "ciphertext of another version",
        {"ciphertext": ciphertext(100, version=2)},
        400,
        "ciphertext",
    ),
    ("ciphertext too short", {"ciphertext": ciphertext(20)}, 400, "ciphertext"),
    ("ciphertext over 1 MiB", {"ciphertext": ciphertext(MiB + 1)}, 413, "ciphertext"),
    ("label over 1 KiB", {"label": b64u_encode(bytes(1025))}, 400, "label"),
]


@pytest.mark.parametrize(
    ("overrides", "status", "field"), [c[1:] for c in BAD_CREATES], ids=[c[0] for c in BAD_CREATES]
)
async def test_bad_create_is_refused_and_stores_nothing(
    api: ApiClient,
    db: asyncpg.Connection,
    overrides: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    body = {**make_secret().body, **overrides}
    body = {k: v for k, v in body.items() if v is not None}
    response = await api.post(CREATE, **json_body(body))
    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == status
    assert problem.get("field") == field
    assert problem["detail"]
    assert await table_counts(db) == (0, 0, 0)


async def test_whole_numbers_written_as_floats_are_accepted(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    response = await api.post("/api/v1/secrets", json={**make_secret().body, "max_views": 3.0})
    assert response.status == 201
    assert (await response.json())["max_views"] == 3


async def test_ciphertext_of_exactly_the_limit_is_accepted(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    body = {**make_secret().body, "ciphertext": ciphertext(MiB)}
    assert (await api.post(CREATE, **json_body(body))).status == 201
    assert await db.fetchval("SELECT length(ciphertext) FROM secrets") == MiB


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"ciphertext": "AQ"}', "text/plain", 415),
        (b'{"ciphertext": "AQ"}', "application/x-www-form-urlencoded", 415),
    ],
)
async def test_malformed_bodies_get_a_problem(
    api: ApiClient, db: asyncpg.Connection, data: bytes, content_type: str, status: int
) -> None:
    response = await api.post(CREATE, data=data, headers={"Content-Type": content_type})
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert await table_counts(db) == (0, 0, 0)


async def test_body_over_the_size_limit_is_refused_with_413(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    response = await api.post(
        CREATE, data=io.BytesIO(b"x" * (3 * MiB)), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json())["type"] == "urn:burnafter:problem:payload-too-large"
    assert await table_counts(db) == (0, 0, 0)


async def test_bad_proofs_on_an_existing_secret_change_nothing(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    secret = make_secret(passphrase=secret_passphrase())
    secret_id = (await (await api.post(CREATE, json=secret.body)).json())["id"]
    before = await db.fetchrow("SELECT views_left, attempts_left FROM secrets")
    cases = [
        ("peek", {"claim": b64u_encode(bytes(31))}, 400),
        ("peek", {"claim": "not base64!"}, 400),
        ("peek", {}, 400),
        ("reveal", {**secret.claim_body(), "unlock": b64u_encode(bytes(16))}, 400),
        ("reveal", {**secret.claim_body(), "extra": 1}, 400),
    ]
    for action, body, status in cases:
        response = await api.post(f"{CREATE}/{secret_id}/{action}", json=body)
        assert response.status == status, (action, body)
        assert response.content_type == "application/problem+json"
    assert await db.fetchrow("SELECT views_left, attempts_left FROM secrets") == before
    assert await table_counts(db) == (1, 1, 1)


@pytest.mark.parametrize("bad_id", ["short", "A" * 23, "!" * 22, "A" * 21 + "B"])
async def test_malformed_ids_are_404_like_unknown_ones(api: ApiClient, bad_id: str) -> None:
    response = await api.post(f"{CREATE}/{bad_id}/peek", json={"claim": b64u_encode(bytes(32))})
    assert response.status == 404
    assert (await response.json())["type"] == "urn:burnafter:problem:secret-not-found"


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic abc", "Bearer", "Bearer !!!", f"Bearer {b64u_encode(bytes(16))}"],
)
async def test_receipt_needs_a_well_formed_bearer_token(
    api: ApiClient, db: asyncpg.Connection, authorization: str | None
) -> None:
    secret = make_secret()
    secret_id = (await (await api.post(CREATE, json=secret.body)).json())["id"]
    headers = {} if authorization is None else {"Authorization": authorization}
    for method in ("GET", "DELETE"):
        path = f"/api/v1/receipts/{secret_id}" if method == "GET" else f"{CREATE}/{secret_id}"
        response = await api.request(method, path, headers=headers)
        assert response.status == 401
        assert response.content_type == "application/problem+json"
    assert await table_counts(db) == (1, 1, 1)


async def test_limits_are_published_and_configurable(
    aiohttp_client: AiohttpClient, database_url: str
) -> None:
    from services.api.app import create_app
    from tests.support.services import make_settings

    settings = make_settings(database_url, MAX_VIEWS="3", MAX_EXPIRES_IN="3600", MAX_ATTEMPTS="2")
    client = await aiohttp_client(create_app(settings))
    limits = await (await client.get("/api/v1/limits")).json()
    assert limits["max_views"] == 3
    assert limits["max_expires_in"] == 3600
    assert limits["max_attempts"] == 2
    assert limits["default_expires_in"] == 3600
    over = await client.post(CREATE, json={**make_secret().body, "max_views": 4})
    assert over.status == 400
    over = await client.post(CREATE, json={**make_secret().body, "expires_in": 3601})
    assert over.status == 400
    made = await (await client.post(CREATE, json=make_secret().body)).json()
    assert made["max_views"] == 1
