"""The admin dashboard as an admin meets it in Chromium: signed in with the admin
token (HTTP Basic, as the browser asks for it), clicking and typing.

Creating and revoking an API token from the dashboard's own page works, and the
same forms posted by a page on another site change nothing. Another site here is
``localhost``: the dashboard is served at ``127.0.0.1``, a different site to the
browser (a second port on ``127.0.0.1`` would be the same site)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from babel.dates import format_date, format_skeleton
from playwright.async_api import Browser, BrowserContext, Locator, Page, Request, expect

from services.dev.app import build_app
from tests.browser.test_accessibility import serious_violations
from tests.functional.test_admin import seed
from tests.support.fixtures_types import AiohttpServer
from tests.support.leaks import LEAK_WATCH
from tests.support.services import make_settings

ADMIN_TOKEN = secrets.token_urlsafe(24)
REFUSED = "Cross-site form posts are refused"


class SignIn(Protocol):
    """A fresh browser profile that answers the dashboard's sign-in with the admin token."""

    async def __call__(
        self,
        *,
        color_scheme: Literal["light", "dark"] = "light",
        bypass_csp: bool = False,
    ) -> BrowserContext: ...


@pytest_asyncio.fixture(loop_scope="session")
async def site(aiohttp_server: AiohttpServer, database_url: str, test_log: Path) -> str:
    """The web frontend with the dashboard on, at http://127.0.0.1:PORT."""
    LEAK_WATCH.add("admin token", ADMIN_TOKEN)
    server = await aiohttp_server(build_app(make_settings(database_url, ADMIN_TOKEN=ADMIN_TOKEN)))
    return str(server.make_url("")).rstrip("/")


@pytest_asyncio.fixture(loop_scope="session")
async def sign_in(browser: Browser) -> AsyncIterator[SignIn]:
    made: list[BrowserContext] = []

    async def make(
        *, color_scheme: Literal["light", "dark"] = "light", bypass_csp: bool = False
    ) -> BrowserContext:
        context = await browser.new_context(
            http_credentials={"username": "admin", "password": ADMIN_TOKEN},
            color_scheme=color_scheme,
            bypass_csp=bypass_csp,
        )
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


async def create_token(page: Page, site: str, name: str) -> str:
    """On the token page: type a name and an owner, click Create; the value shown."""
    await page.goto(site + "/admin/tokens")
    await page.get_by_label("Name").click()
    await page.get_by_label("Name").press_sequentially(name)
    await page.get_by_label("Owner").fill("ops@example.com")
    await page.get_by_label("Expires in (days)").fill("30")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#new-token")).to_contain_text(f"Token {name} created")
    value = str(await page.locator("#new-token .token-value").text_content())
    LEAK_WATCH.add("api token", value)
    return value


def posts_of(page: Page) -> list[Request]:
    """Every POST the page sends from now on."""
    posts: list[Request] = []

    def record(request: Request) -> None:
        if request.method == "POST":
            posts.append(request)

    page.on("request", record)
    return posts


def state_of(page: Page, name: str) -> Locator:
    return page.locator(f'tr[data-token="{name}"] .token-state')


async def test_an_admin_creates_and_revokes_a_token_by_clicking(
    site: str, sign_in: SignIn, db: asyncpg.Connection
) -> None:
    context = await sign_in()
    page = await context.new_page()
    posts = posts_of(page)

    value = await create_token(page, site, "ci-deploy")
    assert re.fullmatch(r"bat_[A-Za-z0-9_-]{11}_[A-Za-z0-9_-]{43}", value)
    row = page.locator('tr[data-token="ci-deploy"]')
    await expect(state_of(page, "ci-deploy")).to_have_text("active")
    # What Chromium sent: the site's Referrer-Policy: no-referrer makes the origin
    # "null", which is why the dashboard cannot go by Origin alone.
    sent = await posts[0].all_headers()
    assert (sent.get("origin"), sent.get("sec-fetch-site")) == ("null", "same-origin")

    await row.get_by_role("button", name="Revoke ci-deploy").click()
    await expect(state_of(page, "ci-deploy")).to_have_text("revoked")
    await expect(page).to_have_url(site + "/admin/tokens")
    await expect(row.get_by_role("button")).to_have_count(0)
    await expect(page.get_by_role("alert")).to_have_count(0)
    assert value not in await page.content()  # shown once, on the page that made it
    revoked = await db.fetchval("SELECT revoked_at FROM api_tokens WHERE name = 'ci-deploy'")
    assert revoked is not None


def attacker_site(target: str) -> web.Application:
    """Pages on another site that post the dashboard's forms as soon as they load."""

    def autosubmit(action: str, fields: dict[str, str]) -> web.Response:
        inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
        html = (
            "<!doctype html><title>You won a prize</title>"
            f'<form method="post" action="{target}{action}">{inputs}</form>'
            "<script>document.forms[0].submit()</script>"
        )
        return web.Response(text=html, content_type="text/html")

    async def create(_request: web.Request) -> web.Response:
        return autosubmit("/admin/tokens", {"name": "planted", "owner": "eve@example.net"})

    async def revoke(_request: web.Request) -> web.Response:
        return autosubmit("/admin/tokens/victim/revoke", {})

    app = web.Application()
    app.router.add_get("/create", create)
    app.router.add_get("/revoke", revoke)
    return app


async def test_another_site_s_page_cannot_create_or_revoke_a_token(
    site: str, sign_in: SignIn, db: asyncpg.Connection, aiohttp_server: AiohttpServer
) -> None:
    context = await sign_in()
    admin = await context.new_page()
    await create_token(admin, site, "victim")
    evil = await aiohttp_server(attacker_site(site))
    elsewhere = f"http://localhost:{evil.port}"

    for path in ("/create", "/revoke"):
        tab = await context.new_page()
        posts = posts_of(tab)
        await tab.goto(elsewhere + path)
        await expect(tab).to_have_url(re.compile(re.escape(site + "/admin/tokens")))
        # The answer is the token page, which only a signed-in admin gets: the
        # admin's credentials went along, and the post was refused all the same.
        await expect(tab.get_by_role("alert")).to_contain_text(REFUSED)
        sent = await posts[-1].all_headers()
        assert sent.get("sec-fetch-site") == "cross-site", path
        await tab.close()

    assert await db.fetchval("SELECT count(*) FROM api_tokens WHERE name = 'planted'") == 0
    await admin.reload()
    await expect(state_of(admin, "victim")).to_have_text("active")
    await expect(admin.locator('tr[data-token="planted"]')).to_have_count(0)


async def test_the_dashboard_links_to_tokens_and_audit_and_back(site: str, sign_in: SignIn) -> None:
    page = await (await sign_in()).new_page()
    await page.goto(site + "/admin")
    nav = page.get_by_role("navigation", name="Admin")
    await expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute(
        "aria-current", "page"
    )

    await nav.get_by_role("link", name="API tokens").click()
    await expect(page).to_have_url(site + "/admin/tokens")
    await expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    await expect(nav.get_by_role("link", name="API tokens")).to_have_attribute(
        "aria-current", "page"
    )

    await nav.get_by_role("link", name="Dashboard").click()
    await expect(page).to_have_url(site + "/admin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Admin dashboard")

    await nav.get_by_role("link", name="Audit history").click()
    await expect(page).to_have_url(site + "/admin/audit")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Audit history")
    await nav.get_by_role("link", name="API tokens").click()
    await expect(page).to_have_url(site + "/admin/tokens")
    await page.go_back()
    await expect(page).to_have_url(site + "/admin/audit")


async def test_sizes_read_as_people_read_them(
    site: str, sign_in: SignIn, db: asyncpg.Connection
) -> None:
    await seed(db)  # three live secrets: 1053 + 70000 + 5000 bytes of ciphertext
    page = await (await sign_in()).new_page()
    await page.goto(site + "/admin")
    stored = page.locator("#active-bytes")
    await expect(stored).to_have_text("74 KB")
    await expect(stored).to_have_attribute("title", "76,053 bytes")
    await expect(page.locator("#by-size tbody td:first-child")).to_have_text(
        ["under 1 KB", "1 to 4 KB", "4 to 64 KB", "64 to 256 KB", "256 KB to 1 MB", "over 1 MB"]
    )


def day_label(day: date) -> str:
    """A date under the chart's axis, as the page's language writes a day and month."""
    return format_skeleton("MMMd", day, locale="en")


async def test_charts_have_labelled_axes_and_dates(
    site: str, sign_in: SignIn, db: asyncpg.Connection
) -> None:
    await seed(db)  # created per day: 1 today, 2 yesterday, 1 two and three days ago
    page = await (await sign_in()).new_page()
    await page.goto(site + "/admin")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=29)
    chart = page.locator("#chart-created svg")

    dates = chart.locator(".date-axis text")
    shown = [first + timedelta(days=n) for n in (0, 10, 20, 29)]
    await expect(dates).to_have_text([day_label(day) for day in shown])
    assert [await d.get_attribute("data-date") for d in await dates.all()] == [
        day.isoformat() for day in shown
    ]
    await expect(chart.locator(".count-axis text")).to_have_text(["0", "2"])
    await expect(chart.locator(".axis-title")).to_have_text(["Day (UTC)", "Created a day"])
    await expect(page.locator(f'time[datetime="{first.isoformat()}"]')).to_be_visible()
    await expect(page.locator(f'time[datetime="{today.isoformat()}"]')).to_be_visible()
    await expect(chart.locator("rect.bar title").last).to_have_text(
        f"{format_date(today, 'medium', locale='en')}: 1"
    )

    # Every label is drawn inside its chart, none cut off at an edge.
    box = await chart.bounding_box()
    assert box is not None
    for label in await chart.locator("text").all():
        inner = await label.bounding_box()
        assert inner is not None and inner["width"] > 0, await label.text_content()
        assert (
            box["x"] - 0.5 <= inner["x"]
            and inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5
        ), await label.text_content()
        assert (
            box["y"] - 0.5 <= inner["y"]
            and inner["y"] + inner["height"] <= box["y"] + box["height"] + 0.5
        ), await label.text_content()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_admin_buttons_look_like_the_site_s_and_pass_axe(
    site: str, sign_in: SignIn, scheme: Literal["light", "dark"]
) -> None:
    # axe is injected as a script, which the pages' CSP rightly forbids: bypass it here.
    context = await sign_in(color_scheme=scheme, bypass_csp=True)
    page = await context.new_page()
    await page.goto(site + "/")
    primary = await page.locator("#create-button").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )

    await create_token(page, site, f"look-{scheme}")
    create = page.get_by_role("button", name="Create token")
    revoke = page.get_by_role("button", name=f"Revoke look-{scheme}")
    await expect(create).to_have_css("background-color", primary)
    await expect(create).to_have_css("border-radius", "8px")
    await expect(revoke).to_have_css("color", "rgb(255, 255, 255)")
    await expect(revoke).not_to_have_css("background-color", primary)
    found = {"tokens": await serious_violations(page)}

    await page.goto(site + "/admin/audit")
    await expect(page.get_by_role("button", name="Filter")).to_have_css("background-color", primary)
    found["audit"] = await serious_violations(page)
    await page.goto(site + "/admin")
    found["dashboard"] = await serious_violations(page)
    assert found == {"tokens": [], "audit": [], "dashboard": []}
