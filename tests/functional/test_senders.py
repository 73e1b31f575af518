"""Who may create: CREATE_POLICY, sign-in through a trusted proxy, API tokens made
by the CLI, and limits per kind of sender. Opening a link never needs any of it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import ClientResponse

from tests.support.audit import AuditTail
from tests.support.cli import cli, watch_cli_links
from tests.support.fixtures_types import ApiClient, ClientWith
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import MadeSecret, make_secret

ALICE = {"X-Forwarded-Email": "Alice@Example.com", "X-Forwarded-Groups": "staff,ops"}


async def create(
    api: ApiClient, headers: dict[str, str] | None = None, **fields: Any
) -> tuple[MadeSecret, ClientResponse]:
    secret = make_secret(**fields)
    response = await api.post("/api/v1/secrets", json=secret.body, headers=headers or {})
    return secret, response


async def test_sso_policy_takes_the_user_only_from_a_trusted_proxy(
    api_with: ClientWith, test_log: Path
) -> None:
    behind_proxy = await api_with(CREATE_POLICY="sso", TRUSTED_PROXIES="127.0.0.1/32")
    _, anonymous = await create(behind_proxy)
    assert anonymous.status == 401
    assert (await anonymous.json())["type"] == "urn:burnafter:problem:authentication-required"

    tail = AuditTail(test_log)
    secret, signed_in = await create(behind_proxy, ALICE)
    assert signed_in.status == 201
    created = [line for line in tail.lines() if line["event"] == "secret.created"]
    assert [line["actor"] for line in created] == ["alice@example.com"]

    # Opening needs no account, no header, no token.
    sid = (await signed_in.json())["id"]
    opened = await behind_proxy.post(f"/api/v1/secrets/{sid}/reveal", json=secret.reveal_body())
    assert opened.status == 200

    # The same header from a peer that is not a trusted proxy is ignored, and logged.
    direct = await api_with(CREATE_POLICY="sso", TRUSTED_PROXIES="10.0.0.0/8")
    _, forged = await create(direct, ALICE)
    assert forged.status == 401
    logged = [json.loads(line)["event"] for line in test_log.read_text().splitlines() if line]
    assert "identity_header_ignored" in logged


async def test_a_token_made_by_the_cli_works_until_revoked_or_expired(
    api_with: ClientWith, database_url: str, db: asyncpg.Connection, test_log: Path, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    made = await cli(
        "token", "create", "--name", "ci-deploy", "--owner", "ops@example.com", env=env
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    LEAK_WATCH.add("api token", token)
    assert token.startswith("bat_")

    api = await api_with(CREATE_POLICY="sso-or-token")
    tail = AuditTail(test_log)
    _, with_token = await create(api, {"Authorization": f"Bearer {token}"})
    assert with_token.status == 201
    assert [line["actor"] for line in tail.lines() if line["event"] == "secret.created"] == [
        "token:ci-deploy"
    ]
    _, without = await create(api)
    assert without.status == 401

    # The CLI sends it from a file (or BURNAFTER_TOKEN), never from a flag.
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    base_url = str(api.make_url("")).rstrip("/")
    sent = await cli(
        "send",
        "--server",
        base_url,
        stdin=b"from ci",
        env={"BURNAFTER_TOKEN_FILE": str(token_file)},
    )
    token_file.unlink()  # no token left on disk after the call that needs it
    assert sent.returncode == 0, sent.stderr
    watch_cli_links(sent.stdout, sent.stderr)

    # Only a hash is stored; the value is in no table and no log line.
    row = await db.fetchrow("SELECT id, secret_hash FROM api_tokens WHERE name = 'ci-deploy'")
    secret_part = token[-43:]  # bat_<11-char id>_<43-char secret>; ids may hold "_"
    assert row["secret_hash"] == hashlib.sha256(secret_part.encode()).digest()
    table = "\n".join(r["t"] for r in await db.fetch("SELECT t::text AS t FROM api_tokens t"))
    assert secret_part not in table
    assert secret_part not in test_log.read_text()

    listed = await cli("token", "list", env=env)
    assert b"ci-deploy" in listed.stdout and b"active" in listed.stdout
    assert secret_part.encode() not in listed.stdout

    revoked = await cli("token", "revoke", "ci-deploy", env=env)
    assert revoked.returncode == 0, revoked.stderr
    _, after_revoke = await create(api, {"Authorization": f"Bearer {token}"})
    assert after_revoke.status == 401
    assert (await cli("token", "revoke", "ci-deploy", env=env)).returncode == 1

    short = await cli("token", "create", "--name", "short", "--owner", "o@example.com",
                      "--expires-in-days", "1", env=env)  # fmt: skip
    short_token = short.stdout.decode().strip()
    LEAK_WATCH.add("api token", short_token)
    _, before_expiry = await create(api, {"Authorization": f"Bearer {short_token}"})
    assert before_expiry.status == 201
    await db.execute(
        "UPDATE api_tokens SET expires_at = now() - interval '1 s' WHERE name = 'short'"
    )
    _, after_expiry = await create(api, {"Authorization": f"Bearer {short_token}"})
    assert after_expiry.status == 401

    # A token that does not parse, or whose secret part is wrong, is refused too.
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for presented in ("nonsense", wrong):
        _, refused = await create(api, {"Authorization": f"Bearer {presented}"})
        assert refused.status == 401


async def test_each_kind_of_sender_gets_its_own_maximum(api_with: ClientWith) -> None:
    api = await api_with(
        TRUSTED_PROXIES="127.0.0.1/32", ANONYMOUS_MAX_EXPIRES_IN="3600", ANONYMOUS_MAX_VIEWS="3"
    )
    anonymous_limits = await (await api.get("/api/v1/limits")).json()
    assert (anonymous_limits["max_expires_in"], anonymous_limits["max_views"]) == (3600, 3)
    assert anonymous_limits["sender"] == "anonymous" and anonymous_limits["may_create"]
    sso_limits = await (await api.get("/api/v1/limits", headers=ALICE)).json()
    assert sso_limits["sender"] == "sso" and sso_limits["max_expires_in"] > 3600

    _, too_long = await create(api, expires_in=7200)
    assert too_long.status == 400
    problem = await too_long.json()
    assert problem["field"] == "expires_in" and "3600" in problem["detail"]
    _, too_many = await create(api, max_views=4)
    assert too_many.status == 400 and (await too_many.json())["field"] == "max_views"
    _, within = await create(api, expires_in=3600, max_views=3)
    assert within.status == 201
    _, signed_in = await create(api, ALICE, expires_in=7200, max_views=4)
    assert signed_in.status == 201


async def test_the_open_policy_still_names_a_signed_in_sender(
    api_with: ClientWith, test_log: Path
) -> None:
    api = await api_with(TRUSTED_PROXIES="127.0.0.1/32")
    tail = AuditTail(test_log)
    assert (await create(api))[1].status == 201
    assert (await create(api, ALICE))[1].status == 201
    actors = [line["actor"] for line in tail.lines() if line["event"] == "secret.created"]
    assert actors == [None, "alice@example.com"]
    limits = await (await api.get("/api/v1/limits")).json()
    assert json.dumps(limits)  # the web page reads these
    assert limits["notify_endpoints"] == []
