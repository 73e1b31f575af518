"""The web pages as HTTP sees them: strict headers, no side effects, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dev.app import build_app
from services.server.middlewares import CONTENT_SECURITY_POLICY
from tests.support.fixtures_types import AiohttpClient, ApiClient
from tests.support.services import make_settings


@pytest.fixture
async def site(aiohttp_client: AiohttpClient, database_url: str, test_log: Path) -> ApiClient:
    return await aiohttp_client(build_app(make_settings(database_url)))


@pytest.mark.parametrize(
    "path", ["/", "/s/AAAAAAAAAAAAAAAAAAAAAA", "/r/AAAAAAAAAAAAAAAAAAAAAA", "/api/v1/limits"]
)
async def test_every_response_carries_the_security_headers(site: ApiClient, path: str) -> None:
    response = await site.get(path)
    assert response.status == 200
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    for directive in (
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # plain http here


async def test_pages_say_noindex_and_load_no_inline_script_or_style(site: ApiClient) -> None:
    for path in ("/", "/s/AAAAAAAAAAAAAAAAAAAAAA", "/r/AAAAAAAAAAAAAAAAAAAAAA"):
        html = await (await site.get(path)).text()
        assert '<meta name="robots" content="noindex, nofollow">' in html
        assert "<script>" not in html and "<style" not in html and "style=" not in html
        assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN, no third party
        assert "<link" not in html.split("</head>")[1]  # styles in the head, painted once


async def test_hsts_only_over_tls_from_a_trusted_proxy(
    aiohttp_client: AiohttpClient, database_url: str, test_log: Path
) -> None:
    trusted = await aiohttp_client(
        build_app(make_settings(database_url, TRUSTED_PROXIES="127.0.0.1/32"))
    )
    over_tls = await trusted.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in over_tls.headers["Strict-Transport-Security"]
    untrusted = await aiohttp_client(build_app(make_settings(database_url)))
    spoofed = await untrusted.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers


async def test_static_files_may_be_cached_but_revalidated(site: ApiClient) -> None:
    response = await site.get("/static/js/envelope.js")
    assert response.status == 200
    assert "javascript" in response.content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
