"""The admin dashboard: who gets in, and that it shows seeded data exactly."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from babel.dates import format_date

from services.web.admin.dashboard import human_bytes
from tests.support.audit import AuditTail
from tests.support.fixtures_types import ClientWith

TOKEN = "t" * 32


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}


async def test_admin_is_off_unless_a_credential_is_configured(admin_site: ClientWith) -> None:
    site = await admin_site()
    assert (await site.get("/admin", headers=basic(TOKEN))).status == 404


async def test_admin_answers_401_without_or_with_a_wrong_credential_and_audits(
    admin_site: ClientWith, test_log: Path
) -> None:
    site = await admin_site(ADMIN_TOKEN=TOKEN)
    tail = AuditTail(test_log)
    missing = await site.get("/admin")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert (await site.get("/admin", headers=basic("w" * 32))).status == 401
    assert (await site.get("/admin", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await site.get("/admin", headers=basic(TOKEN))).status == 200
    assert (
        await site.get("/admin/audit", headers={"Authorization": f"Bearer {TOKEN}"})
    ).status == 200
    decisions = [(r["event"], r["outcome"], r["actor"]) for r in tail.lines()]
    assert decisions == [
        ("admin.access", "denied", None),
        ("admin.access", "denied", None),
        ("admin.access", "ok", "admin-token"),
        ("admin.access", "ok", "admin-token"),
    ]
    assert TOKEN not in test_log.read_text()


async def test_trusted_identity_header_grants_only_allowed_users(admin_site: ClientWith) -> None:
    header = {"X-Forwarded-Email": "Ops@Example.com"}
    trusted = await admin_site(ADMIN_USERS="ops@example.com", TRUSTED_PROXIES="127.0.0.1/32")
    assert (await trusted.get("/admin", headers=header)).status == 200
    other = {"X-Forwarded-Email": "intern@example.com"}
    assert (await trusted.get("/admin", headers=other)).status == 403
    untrusted = await admin_site(ADMIN_USERS="ops@example.com", TRUSTED_PROXIES="10.0.0.0/8")
    assert (await untrusted.get("/admin", headers=header)).status == 401


async def seed(db: asyncpg.Connection) -> None:
    """Known receipts and events at known times; three live secrets."""
    now = datetime.now(UTC)
    rows: list[tuple[str, str, int, timedelta, list[tuple[str, int, str | None]]]] = [
        # id, state, ciphertext bytes, expires in, events [(event, days ago, address)]
        ("A" * 22, "active", 1053, timedelta(minutes=30), [("created", 0, "10.0.0.0/24")]),
        ("B" * 22, "active", 70000, timedelta(days=2), [("created", 1, "10.0.0.0/24")]),
        ("C" * 22, "active", 5000, timedelta(days=10),
         [("created", 2, None), ("wrong_passphrase", 0, "203.0.113.0/24"),
          ("wrong_passphrase", 0, "203.0.113.0/24")]),
        ("D" * 22, "spent", 1053, timedelta(days=1),
         [("created", 3, "10.0.0.0/24"), ("viewed", 3, "10.0.0.0/24")]),
        ("E" * 22, "burned", 1053, timedelta(days=1),
         [("created", 1, None), *[("wrong_passphrase", 1, "198.51.100.0/24")] * 5,
          ("burned", 1, None)]),
        ("F" * 22, "expired", 1053, timedelta(days=-1),
         [("created", 40, None), ("expired", 0, None)]),
    ]  # fmt: skip
    for secret_id, state, size, expires_in, events in rows:
        ended = None if state == "active" else now
        await db.execute(
            "INSERT INTO receipts (id, manage_verifier, state, max_views, max_attempts, passphrase,"
            " ciphertext_bytes, expires_at, ended_at) VALUES ($1, $2, $3, 1, 5, false, $4, $5, $6)",
            secret_id, bytes(32), state, size, now + expires_in, ended,
        )  # fmt: skip
        for event, days_ago, address in events:
            await db.execute(
                "INSERT INTO access_events (secret_id, event, at, client_address, user_agent)"
                " VALUES ($1, $2, $3, $4, 'seed-agent')",
                secret_id, event, now - timedelta(days=days_ago), address,
            )  # fmt: skip


def chart_total(html: str, event: str) -> int:
    match = re.search(rf'id="chart-{event}".*?class="chart-total">(\d+)<', html, re.DOTALL)
    assert match, event
    return int(match.group(1))


async def test_dashboard_shows_the_seeded_counts(
    admin_site: ClientWith, db: asyncpg.Connection
) -> None:
    await seed(db)
    site = await admin_site(ADMIN_TOKEN=TOKEN)
    html = await (await site.get("/admin", headers=basic(TOKEN))).text()
    # 30 days: the secret created 40 days ago is outside the window.
    charted = ("created", "viewed", "expired", "revoked", "burned")
    assert {event: chart_total(html, event) for event in charted} == {
        "created": 5, "viewed": 1, "expired": 1, "revoked": 0, "burned": 1,
    }  # fmt: skip
    today = datetime.now(UTC).date()
    # A bar's day as the page's language writes it (Babel's medium date, English here).
    assert (
        f"<title>{format_date(today, 'medium', locale='en')}: 1</title>"
        in html.split('id="chart-created"')[1].split("</figure>")[0]
    )
    assert re.search(r'id="active-count">3<', html)
    # 76053 bytes, written as people read it; the exact count on hover (was "76053 bytes").
    assert re.search(r'id="active-bytes" title="76,053 bytes">74 KB<', html)
    by_size = re.findall(
        r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>",
        html.split('id="by-size"')[1].split("</table>")[0],
    )
    assert dict(by_size) == {
        "under 1 KB": "0", "1 to 4 KB": "1", "4 to 64 KB": "1", "64 to 256 KB": "1",
        "256 KB to 1 MB": "0", "over 1 MB": "0",
    }  # fmt: skip
    by_expiry = dict(
        re.findall(
            r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>",
            html.split('id="by-expiry"')[1].split("</table>")[0],
        )
    )
    assert by_expiry == {
        "within 1 hour": "1", "1 hour to 1 day": "0", "1 to 7 days": "1", "7 to 30 days": "1",
        "over 30 days": "0",
    }  # fmt: skip
    hotspots = re.findall(r"address=[^\"]+\">([^<]+)</a></td><td>(\d+)</td>", html)
    assert hotspots == [("198.51.100.0/24", "5"), ("203.0.113.0/24", "2")]


async def test_audit_history_filters_and_pages(
    admin_site: ClientWith, db: asyncpg.Connection
) -> None:
    await seed(db)
    site = await admin_site(ADMIN_TOKEN=TOKEN)

    async def rows(query: str) -> list[str]:
        response = await site.get(f"/admin/audit?{query}", headers=basic(TOKEN))
        assert response.status == 200
        html = await response.text()
        body = html.split("<tbody>")[1].split("</tbody>")[0]
        return re.findall(r"<tr><td>[^<]+</td><td>([^<]+)</td>", body)

    assert len(await rows("")) == 16
    assert await rows("event=wrong_passphrase&address=203.0.113.0/24") == ["Wrong passphrase"] * 2
    assert await rows("event=burned") == ["Burned"]
    # Links and bookmarks made with the v1 words still filter.
    assert await rows("event=unlock_failed&address=203.0.113.0/24") == ["Wrong passphrase"] * 2
    assert await rows("event=locked") == ["Burned"]
    assert await rows("page=2") == []
    html = await (await site.get("/admin/audit", headers=basic(TOKEN))).text()
    assert "A" * 22 not in html  # secrets appear as audit references, never ids
    for bad in ("event=nope", "page=0", "page=x", "address=" + "9" * 65):
        assert (await site.get(f"/admin/audit?{bad}", headers=basic(TOKEN))).status == 400


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"), (1024, "1.0 KB"),
        (5000, "4.9 KB"), (10 * 1024, "10 KB"), (76053, "74 KB"),
        (10 * 1024 - 30, "10 KB"), (1024 * 1024 - 60, "1.0 MB"), (1024 * 1000, "1000 KB"),
        (5 * 1024 * 1024 + 1, "5.0 MB"),
        (10 * 1024**3, "10 GB"),
    ],
)  # fmt: skip
def test_sizes_are_written_as_people_read_them(count: int, shown: str) -> None:
    """As the size table counts (1 KB = 1024 bytes), never "1024 KB"."""
    assert human_bytes(count) == shown


async def test_every_admin_page_links_its_styles_in_the_head(admin_site: ClientWith) -> None:
    site = await admin_site(ADMIN_TOKEN=TOKEN)
    for path in ("/admin", "/admin/audit", "/admin/tokens"):
        html = await (await site.get(path, headers=basic(TOKEN))).text()
        head, body = html.split("</head>")
        assert '<link rel="stylesheet" href="/static/css/admin.css">' in head, path
        assert "<link" not in body, path  # a stylesheet in the body paints the page twice
