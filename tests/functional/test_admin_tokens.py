"""API tokens on the admin dashboard, admin access by group, and the signed-in
user on the pages."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from services.dev.app import build_app
from tests.support.audit import AuditTail
from tests.support.fixtures_types import AiohttpClient, ApiClient
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import make_secret
from tests.support.services import make_settings

PROXY = {"TRUSTED_PROXIES": "127.0.0.1/32", "ADMIN_GROUPS": "platform-admins"}
ADMIN = {"X-Forwarded-Email": "root@example.com", "X-Forwarded-Groups": "staff, Platform-Admins"}
STAFF = {"X-Forwarded-Email": "bob@example.com", "X-Forwarded-Groups": "staff"}


@pytest.fixture
async def site(aiohttp_client: AiohttpClient, database_url: str, test_log: Path) -> ApiClient:
    return await aiohttp_client(build_app(make_settings(database_url, **PROXY)))


def origin(site: ApiClient) -> dict[str, str]:
    return {"Origin": str(site.make_url("")).rstrip("/")}


async def test_admin_by_group_and_the_signed_in_user_on_pages(site: ApiClient) -> None:
    assert (await site.get("/admin", headers=ADMIN)).status == 200
    assert (await site.get("/admin", headers=STAFF)).status == 403
    page = await (await site.get("/", headers=STAFF)).text()
    assert "Signed in as <strong>bob@example.com</strong>" in page
    assert "Signed in as" not in await (await site.get("/")).text()


async def test_tokens_are_made_shown_once_and_revoked_on_the_dashboard(
    site: ApiClient, db: asyncpg.Connection, test_log: Path
) -> None:
    tail = AuditTail(test_log)
    form = {"name": "nightly-backup", "owner": "ops@example.com", "expires_days": "30"}
    made = await site.post("/admin/tokens", data=form, headers={**ADMIN, **origin(site)})
    assert made.status == 200
    shown = re.search(r"bat_[A-Za-z0-9_-]{11}_[A-Za-z0-9_-]{43}", await made.text())
    assert shown is not None
    token = shown.group(0)
    LEAK_WATCH.add("api token", token)
    listing = await (await site.get("/admin/tokens", headers=ADMIN)).text()
    assert "nightly-backup" in listing and token not in listing

    # The token works on the api.
    secret = make_secret()
    created = await site.post(
        "/api/v1/secrets", json=secret.body, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status == 201

    # Revoking from another site's page is refused; from the dashboard it works.
    forged = await site.post(
        "/admin/tokens/nightly-backup/revoke",
        headers={**ADMIN, "Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert forged.status == 403
    revoked = await site.post(
        "/admin/tokens/nightly-backup/revoke",
        headers={**ADMIN, **origin(site)},
        allow_redirects=False,
    )
    assert revoked.status == 303
    refused = await site.post(
        "/api/v1/secrets", json=make_secret().body, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status == 401
    events = [(line["event"], line["actor"], line.get("token")) for line in tail.lines()]
    assert ("token.created", "root@example.com", "nightly-backup") in events
    assert ("token.revoked", "root@example.com", "nightly-backup") in events
    assert ("secret.created", "token:nightly-backup", None) in events
    assert token[-43:] not in test_log.read_text()  # the secret part


async def test_the_token_form_checks_its_input_and_the_caller(site: ApiClient) -> None:
    headers = {**ADMIN, **origin(site)}
    bad = [
        {"name": "Bad Name", "owner": "o@example.com"},
        {"name": "ok", "owner": ""},
        {"name": "ok", "owner": "o@example.com", "expires_days": "0"},
        {"name": "ok", "owner": "o@example.com", "expires_days": "9999"},
    ]
    for form in bad:
        assert (await site.post("/admin/tokens", data=form, headers=headers)).status == 400
    good = {"name": "ok", "owner": "o@example.com"}
    staff = await site.post("/admin/tokens", data=good, headers={**STAFF, **origin(site)})
    assert staff.status == 403
    no_origin = await site.post("/admin/tokens", data=good, headers=ADMIN)
    assert no_origin.status == 403
    first = await site.post("/admin/tokens", data=good, headers=headers)
    shown = re.search(r"bat_\S{55}", await first.text())
    assert shown is not None
    LEAK_WATCH.add("api token", shown.group(0))
    assert first.status == 200
    assert (await site.post("/admin/tokens", data=good, headers=headers)).status == 409
