"""Findings of the outside security review (docs/security.md, "Review findings"):
each test failed on the code before its fix."""

from __future__ import annotations

import asyncio
import io
import json
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from multidict import CIMultiDict

from services.store.secrets import REVEAL
from tests.support.fixtures_types import ApiClient, ClientWith, StartService
from tests.support.sealing import make_secret
from tests.support.waiting import eventually

PROXY = {"TRUSTED_PROXIES": "127.0.0.1/32", "CLIENT_ADDRESS_POLICY": "full"}
SOME_ID = "AAAAAAAAAAAAAAAAAAAAAA"


async def test_a_wrong_claim_neither_takes_nor_waits_for_the_row_lock(
    api: ApiClient, db: asyncpg.Connection, database_url: str
) -> None:
    # Finding 1: the cause of the timing oracle. Another transaction holds the row
    # lock; a reveal with a wrong claim must answer 404 without queueing on it (it
    # used to lock first, and so wrote and waited for a WAL flush).
    secret = make_secret()
    live = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    wrong = {"claim": make_secret().claim_body()["claim"]}
    holder = await asyncpg.connect(database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM secrets WHERE id = $1 FOR UPDATE", live)
            reveal = asyncio.ensure_future(api.post(f"/api/v1/secrets/{live}/reveal", json=wrong))
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            await eventually(
                lambda: reveal.done() or db.fetchval(waiting),
                what="the reveal answered or queued on the lock",
            )
            assert reveal.done(), "the reveal with a wrong claim queued on the row lock"
            assert (await reveal).status == 404
    finally:
        await holder.close()
    # The right claim still reveals, once.
    right = await api.post(f"/api/v1/secrets/{live}/reveal", json=secret.reveal_body())
    assert right.status == 200


@pytest.mark.parametrize("claim_verifier", [None, b""], ids=["NULL", "empty"])
async def test_the_reveal_function_refuses_a_null_or_empty_claim(
    api: ApiClient, db: asyncpg.Connection, claim_verifier: bytes | None
) -> None:
    # Finding 2: a NULL claim verifier revealed the secret (STRICT compare, NULL, and
    # `IF NOT NULL` is false). The api never sends one; the function must not care.
    secret = make_secret()
    live = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    for statement in [
        REVEAL,
        "SELECT * FROM burnafter_reveal_v3($1, $2, $3, $4, $5, 'delete')",
        "SELECT * FROM burnafter_reveal_v1($1, $2, $3, $4, $5)",
    ]:
        row = await db.fetchrow(statement, live, claim_verifier, None, None, None)
        assert (row["outcome"], row["ciphertext"]) == ("not_found", None), statement
    assert await db.fetchval("SELECT views_left FROM secrets WHERE id = $1", live) == 1


def assert_security_headers(response: aiohttp.ClientResponse) -> None:
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


async def test_deeply_nested_json_is_a_400_with_every_header(api: ApiClient) -> None:
    nested = "[" * 100_000 + "]" * 100_000  # deeper than Python's parser goes
    response = await api.post(
        "/api/v1/secrets", data=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["type"] == "urn:burnafter:problem:invalid-request"
    assert_security_headers(response)


@pytest.fixture
def failing_peek(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("a message that may hold request data")

    monkeypatch.setattr("services.api.handlers.secrets.peek", broken)


@pytest.mark.usefixtures("failing_peek")
async def test_an_unexpected_error_is_a_500_problem_with_every_header_and_no_message(
    api: ApiClient, test_log: Path
) -> None:
    before = test_log.stat().st_size
    secret = make_secret()
    response = await api.post(f"/api/v1/secrets/{SOME_ID}/peek", json=secret.claim_body())
    assert response.status == 500
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert (await response.json())["type"] == "urn:burnafter:problem:internal-error"
    assert_security_headers(response)
    logged = test_log.read_bytes()[before:]
    assert b'"unexpected_error"' in logged and b"RuntimeError" in logged
    assert b"may hold request data" not in logged


async def test_an_unexpected_error_on_a_page_is_a_500_with_every_header(
    admin_site: ClientWith, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("services.web.app.signed_in_name", broken)
    site = await admin_site()
    response = await site.get("/")
    assert response.status == 500
    assert_security_headers(response)


async def test_every_x_forwarded_for_line_counts(api_with: ClientWith) -> None:
    """A proxy that appends its own line (HAProxy) puts the address it saw last;
    the client wrote the first line itself."""
    api = await api_with(**PROXY)
    secret = make_secret()
    headers = CIMultiDict([("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "198.51.100.7")])
    created = await api.post("/api/v1/secrets", json=secret.body, headers=headers)
    assert created.status == 201
    receipt = await api.get(
        f"/api/v1/receipts/{(await created.json())['id']}", headers=secret.bearer
    )
    (event,) = (await receipt.json())["events"]
    assert event["client_address"] == "198.51.100.7"


@pytest.mark.parametrize("header", ["X-Forwarded-Email", "X-Forwarded-Groups"])
async def test_an_identity_header_sent_twice_is_refused(api_with: ClientWith, header: str) -> None:
    api = await api_with(**PROXY, CREATE_POLICY="sso")
    headers = CIMultiDict([("X-Forwarded-Email", "alice@example.com")])
    headers.add(header, "mallory@example.com" if header == "X-Forwarded-Email" else "admins")
    if header == "X-Forwarded-Groups":
        headers.add(header, "staff")
    response = await api.post("/api/v1/secrets", json=make_secret().body, headers=headers)
    assert response.status == 400


@pytest.mark.parametrize("action", ["peek", "reveal"])
async def test_peek_and_reveal_refuse_a_create_sized_body_unread(
    api: ApiClient, action: str
) -> None:
    claim = make_secret().claim_body()
    big = json.dumps({**claim, "padding": "x" * 1_400_000})
    response = await api.post(
        f"/api/v1/secrets/{SOME_ID}/{action}",
        data=io.BytesIO(big.encode()),
        headers={"Content-Type": "application/json", "Content-Length": str(len(big))},
    )
    assert response.status == 413
    assert (await response.json())["type"] == "urn:burnafter:problem:payload-too-large"


async def test_a_chunked_peek_body_is_cut_off_at_its_limit(base_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"claim": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/api/v1/secrets/{SOME_ID}/peek",
            data=chunks(),
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        assert response.status == 413


ADMIN = {"X-Forwarded-Email": "root@example.com"}


@pytest.fixture
async def admin(admin_site: ClientWith) -> ApiClient:
    return await admin_site(TRUSTED_PROXIES="127.0.0.1/32", ADMIN_USERS="root@example.com")


@pytest.mark.parametrize(
    "form",
    [
        {"name": "ci", "owner": "ops@example.com", "expires_days": "²"},
        {"name": "ci", "owner": "ops\x00@example.com"},
    ],
    ids=["superscript days", "NUL in owner"],
)
async def test_hostile_admin_form_inputs_get_a_400(admin: ApiClient, form: dict[str, str]) -> None:
    origin = {"Origin": str(admin.make_url("")).rstrip("/")}
    response = await admin.post("/admin/tokens", data=form, headers={**ADMIN, **origin})
    assert response.status == 400


async def test_hostile_admin_paths_and_filters_get_a_4xx(admin: ApiClient) -> None:
    origin = {"Origin": str(admin.make_url("")).rstrip("/")}
    revoke = await admin.post("/admin/tokens/a%00b/revoke", headers={**ADMIN, **origin})
    assert revoke.status == 404
    audit = await admin.get("/admin/audit?address=%00", headers=ADMIN)
    assert audit.status == 400
    assert re.search(r"not printable", await audit.text())


async def test_malformed_requests_log_neither_the_request_line_nor_the_address(
    database_url: str, start_service: StartService
) -> None:
    """Finding 9: aiohttp's own error log quoted the raw request line (which may hold
    a secret id) and the full client address, at ERROR, as often as anyone sent one."""
    api = start_service("api", database_url, CLIENT_ADDRESS_POLICY="off")
    secret_id = "Zq9X" + secrets.token_urlsafe(14)[:18]
    host, port = api.url.removeprefix("http://").split(":")
    for _ in range(3):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /api/v1/secrets/{secret_id}\x01 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.read(200)
        writer.close()
        assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    lines = [json.loads(line) for line in api.log.read_text().splitlines() if line.strip()]
    malformed = [line for line in lines if "malformed_request" in line["event"]]
    assert len(malformed) == 3
    assert all(line["level"] == "warning" for line in malformed)
    text = api.log.read_text()
    assert secret_id not in text
    assert "Error handling request" not in text


async def test_receipt_reads_revokes_and_limits_are_rate_limited(api_with: ClientWith) -> None:
    """Finding 14: a receipt read, a revoke and ``/limits`` each cost a database look-up
    (a token's too), and had no rate limit."""
    api = await api_with(RATE_LIMIT_RECEIPT="2", RATE_LIMIT_PEEK="1")
    secret = make_secret()
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    assert (await api.get(f"/api/v1/receipts/{sid}", headers=secret.bearer)).status == 200
    assert (await api.delete(f"/api/v1/secrets/{sid}", headers=secret.bearer)).status == 204
    refused = await api.get(f"/api/v1/receipts/{sid}", headers=secret.bearer)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert (await api.get("/api/v1/limits")).status == 200
    assert (await api.get("/api/v1/limits")).status == 429


def stored_size(body: dict[str, object]) -> int:
    return len(str(body["ciphertext"])) * 3 // 4  # base64url to bytes


async def test_the_storage_cap_holds_exactly_under_parallel_creates(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    # Finding 8: 40 parallel creates overshot the cap (each process re-read the total
    # every few seconds). Room for exactly ten of them.
    bodies = [make_secret().body for _ in range(40)]
    size = stored_size(bodies[0])
    assert all(stored_size(body) == size for body in bodies)
    api = await api_with(
        **PROXY,
        MAX_STORED_CIPHERTEXT_BYTES=str(size * 10 + size // 2),
        MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER="0",
    )
    answers = await asyncio.gather(
        *(
            api.post("/api/v1/secrets", json=body, headers={"X-Forwarded-For": f"203.0.113.{n}"})
            for n, body in enumerate(bodies)
        )
    )
    assert sorted(a.status for a in answers) == [201] * 10 + [507] * 30
    held = await db.fetchval("SELECT sum(length(ciphertext)) FROM secrets")
    assert held == size * 10
    assert await db.fetchval("SELECT bytes FROM storage_usage WHERE scope = 'all'") == held


async def test_one_sender_cannot_fill_the_store_for_everyone(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    # Finding 8: one anonymous sender could fill the whole cap and block every create
    # for up to 30 days. A quota per sender leaves room for the others.
    size = stored_size(make_secret().body)
    api = await api_with(
        **PROXY,
        MAX_STORED_CIPHERTEXT_BYTES=str(size * 10),
        MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER=str(size * 2),
    )
    greedy, other = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "198.51.100.2"}
    greedy_secrets = [make_secret() for _ in range(3)]
    answers = [
        await api.post("/api/v1/secrets", json=secret.body, headers=greedy)
        for secret in greedy_secrets
    ]
    assert [a.status for a in answers] == [201, 201, 507]
    problem = await answers[2].json()
    assert problem["type"] == "urn:burnafter:problem:sender-quota-full"
    assert (await api.post("/api/v1/secrets", json=make_secret().body, headers=other)).status == 201
    # The database holds a keyed hash of each sender, never the address.
    keys = await db.fetch("SELECT scope FROM storage_usage WHERE scope <> 'all'")
    assert len(keys) == 2 and not any("203.0.113" in row["scope"] for row in keys)

    # A secret that ends gives its bytes back (at the next recount, at most a second
    # away): the greedy sender may store one more, and only one.
    first = greedy_secrets[0]
    sid = (await answers[0].json())["id"]
    revealed = await api.post(
        f"/api/v1/secrets/{sid}/reveal", json=first.reveal_body(), headers=greedy
    )
    assert revealed.status == 200

    async def stored_one_more() -> bool:
        again = await api.post("/api/v1/secrets", json=make_secret().body, headers=greedy)
        return again.status == 201

    await eventually(stored_one_more, interval=0.2, what="the freed bytes given back")
    assert not await stored_one_more()


async def test_wrong_admin_tokens_are_rate_limited_per_address(admin_site: ClientWith) -> None:
    # Finding 14: admin sign-in had no rate limit, so ADMIN_TOKEN could be guessed as
    # fast as the web answered. Past the limit even the right token waits.
    right = "r" * 30
    site = await admin_site(
        ADMIN_TOKEN=right, RATE_LIMIT_ADMIN_SIGN_IN="3", TRUSTED_PROXIES="127.0.0.1/32"
    )
    guesser, admin = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "198.51.100.6"}

    def bearer(token: str, where: dict[str, str]) -> dict[str, str]:
        return {**where, "Authorization": f"Bearer {token}"}

    for n in range(3):
        wrong = await site.get("/admin", headers=bearer(f"guess-{n}".ljust(30, "x"), guesser))
        assert wrong.status == 401
    for token in ["guess-4".ljust(30, "x"), right]:
        limited = await site.get("/admin", headers=bearer(token, guesser))
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
    assert (await site.get("/admin", headers=bearer(right, admin))).status == 200
    # An admin's own page loads are not counted: only wrong tokens are.
    for _ in range(5):
        assert (await site.get("/admin", headers=bearer(right, admin))).status == 200
