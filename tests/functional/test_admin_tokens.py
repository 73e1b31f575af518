"""API tokens on the admin dashboard, admin access by group, and the signed-in
user on the pages."""

from __future__ import annotations

import re
import time
from pathlib import Path

import asyncpg
import pytest

from services.dev.app import build_app
from services.web.admin import forms
from tests.support.audit import AuditTail
from tests.support.fixtures_types import AiohttpClient, ApiClient
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import make_secret
from tests.support.services import make_settings

PROXY = {"TRUSTED_PROXIES": "127.0.0.1/32", "ADMIN_GROUPS": "platform-admins"}
ADMIN = {"X-Forwarded-Email": "root@example.com", "X-Forwarded-Groups": "staff, Platform-Admins"}
STAFF = {"X-Forwarded-Email": "bob@example.com", "X-Forwarded-Groups": "staff"}
STAFF_ADMIN = {"X-Forwarded-Email": "eve@example.com", "X-Forwarded-Groups": "platform-admins"}


@pytest.fixture
async def site(aiohttp_client: AiohttpClient, database_url: str, test_log: Path) -> ApiClient:
    return await aiohttp_client(build_app(make_settings(database_url, **PROXY)))


def from_the_page() -> dict[str, str]:
    """What Chromium sends with a form posted from the dashboard's own page. The
    site's ``Referrer-Policy: no-referrer`` makes it send ``Origin: null``; these
    tests sent ``Origin: <the site>`` before, which no browser sends from its pages
    (tests/browser/test_admin.py sees what Chromium sends)."""
    return {"Origin": "null", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}


def from_another_site() -> dict[str, str]:
    """What Chromium sends with a form another site's page posts here."""
    return {"Origin": "null", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}


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
    made = await site.post("/admin/tokens", data=form, headers={**ADMIN, **from_the_page()})
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

    # Revoking from another site's page is refused (from a browser that names the
    # other site in Origin, and from one that says so in Sec-Fetch-Site); from the
    # dashboard it works.
    forged = await site.post(
        "/admin/tokens/nightly-backup/revoke",
        headers={**ADMIN, "Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert forged.status == 403
    forged = await site.post(
        "/admin/tokens/nightly-backup/revoke",
        headers={**ADMIN, **from_another_site()},
        allow_redirects=False,
    )
    assert forged.status == 403
    assert "nothing was changed" in await forged.text()
    revoked = await site.post(
        "/admin/tokens/nightly-backup/revoke",
        headers={**ADMIN, **from_the_page()},
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
    headers = {**ADMIN, **from_the_page()}
    bad = [
        {"name": "Bad Name", "owner": "o@example.com"},
        {"name": "ok", "owner": ""},
        {"name": "ok", "owner": "o@example.com", "expires_days": "0"},
        {"name": "ok", "owner": "o@example.com", "expires_days": "9999"},
    ]
    for form in bad:
        assert (await site.post("/admin/tokens", data=form, headers=headers)).status == 400
    good = {"name": "ok", "owner": "o@example.com"}
    staff = await site.post("/admin/tokens", data=good, headers={**STAFF, **from_the_page()})
    assert staff.status == 403
    no_origin = await site.post("/admin/tokens", data=good, headers=ADMIN)
    assert no_origin.status == 403
    first = await site.post("/admin/tokens", data=good, headers=headers)
    shown = re.search(r"bat_\S{55}", await first.text())
    assert shown is not None
    LEAK_WATCH.add("api token", shown.group(0))
    assert first.status == 200
    assert (await site.post("/admin/tokens", data=good, headers=headers)).status == 409


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_only_posts_from_the_dashboard_s_own_page_are_accepted(
    site: ApiClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of services/web/admin/forms.py, header by header, as browsers send
    them: Sec-Fetch-Site decides when present; without it (older browsers, scripts)
    the site's own Origin or the page's form token does."""
    page = await (await site.get("/admin/tokens", headers=ADMIN)).text()
    good = form_token(page)
    bad = good[:-1] + ("1" if good.endswith("0") else "0")
    own = str(site.make_url("")).rstrip("/")
    posts: list[tuple[str, dict[str, str], str, int]] = [
        # (name, headers besides the admin's, form token, status)
        ("chromium", {"Origin": "null", "Sec-Fetch-Site": "same-origin"}, "", 200),
        ("cross-site", {"Origin": "null", "Sec-Fetch-Site": "cross-site"}, good, 403),
        ("same-site", {"Origin": "null", "Sec-Fetch-Site": "same-site"}, good, 403),
        ("none", {"Sec-Fetch-Site": "none"}, good, 403),
        ("cross-site-own-origin", {"Origin": own, "Sec-Fetch-Site": "cross-site"}, "", 403),
        ("old-browser-token", {"Origin": "null"}, good, 200),
        ("old-browser-no-token", {"Origin": "null"}, "", 403),
        ("old-browser-bad-token", {"Origin": "null"}, bad, 403),
        ("old-browser-other-site", {"Origin": "https://evil.example"}, "", 403),
        ("script-own-origin", {"Origin": own}, "", 200),
        ("script-nothing", {}, "", 403),
        ("tls-http-origin", {"Origin": own, "X-Forwarded-Proto": "https"}, "", 403),
        ("tls-https-origin", {"Origin": own.replace("http:", "https:"),
                              "X-Forwarded-Proto": "https"}, "", 200),
    ]  # fmt: skip
    for name, headers, token, status in posts:
        form = {"name": name, "owner": "o@example.com", "form_token": token}
        response = await site.post("/admin/tokens", data=form, headers={**ADMIN, **headers})
        assert response.status == status, name
        shown = re.search(r"bat_\S{55}", await response.text())
        if shown:
            LEAK_WATCH.add("api token", shown.group(0))
    made = {row["name"] for row in await db.fetch("SELECT name FROM api_tokens")}
    assert made == {name for name, _, _, status in posts if status == 200}

    # A form token is the admin's own, and lasts TOKEN_LIFETIME.
    other = form_token(await (await site.get("/admin/tokens", headers=STAFF_ADMIN)).text())
    late = {"name": "late", "owner": "o@example.com"}
    stale = {**ADMIN, "Origin": "null"}
    response = await site.post("/admin/tokens", data={**late, "form_token": other}, headers=stale)
    assert response.status == 403
    later = time.time() + forms.TOKEN_LIFETIME + 60
    monkeypatch.setattr(forms, "_now", lambda: later)
    response = await site.post("/admin/tokens", data={**late, "form_token": good}, headers=stale)
    assert response.status == 403
    assert await db.fetchval("SELECT count(*) FROM api_tokens WHERE name = 'late'") == 0


async def test_a_database_that_takes_no_writes_answers_the_dashboard_503(
    db: asyncpg.Connection, aiohttp_client: AiohttpClient, database_url: str, test_log: Path
) -> None:
    """A failover's moment (a standby, or a demoted primary): the page says to try
    again, and no bug's 500 is logged."""
    name = await db.fetchval("SELECT current_database()")
    await db.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    read_only = await aiohttp_client(build_app(make_settings(database_url, **PROXY)))
    form = {"name": "nightly-backup", "owner": "ops@example.com", "expires_days": "30"}
    made = await read_only.post("/admin/tokens", data=form, headers={**ADMIN, **from_the_page()})
    assert made.status == 503
    assert "try again" in await made.text()
    assert await db.fetchval("SELECT count(*) FROM api_tokens") == 0
