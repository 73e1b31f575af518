"""Behind single sign-on, as the compose file deploys it: oauth2-proxy's part played by
a proxy that wants its cookie on every request but the routes the compose file lets
through (``OAUTH2_PROXY_SKIP_AUTH_ROUTES``). A signed-in employee's pages send the
cookie with their api calls; a recipient and a responder from outside the company,
with no account, open a share with a file, and answer a request with one."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import FilePayload

from services.server.settings import Settings
from tests.support.browser import (
    FileToShare,
    ask_in_browser,
    create_secret,
    download_all,
    open_collect,
    open_fill,
    open_landing,
    reveal,
    reveal_answer,
)
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.proxy import SIGNED_IN_COOKIE, SignInProxy
from tests.support.services import make_settings
from tests.support.sign_in import skip_auth_routes

SEGMENT = 16 * 1024
EMPLOYEE = "dana@example.test"


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    """Sharing and asking for signed-in users only; the proxy on loopback vouches."""
    return make_settings(
        database_url,
        SEGMENT_SIZE=str(SEGMENT),
        CREATE_POLICY="sso",
        REQUEST_POLICY="sso",
        TRUSTED_PROXIES="127.0.0.1/32",
    )


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in_edge(site: str) -> AsyncIterator[SignInProxy]:
    proxy = SignInProxy(site, skip_routes=skip_auth_routes())
    await proxy.start()
    yield proxy
    await proxy.close()


async def test_outsiders_open_and_answer_with_no_account_behind_sign_in(
    signed_in_edge: SignInProxy, new_context: NewContext, tmp_path: Path
) -> None:
    edge = signed_in_edge.url
    employee, _ = await new_context(accept_downloads=True)
    await employee.add_cookies([{"name": SIGNED_IN_COOKIE, "value": EMPLOYEE, "url": edge}])
    outsider, _ = await new_context(accept_downloads=True)

    # A share with a file of several segments, opened and saved with no account.
    report = os.urandom(3 * SEGMENT + 11)
    LEAK_WATCH.add("file", report[:64])
    share, _ = await create_secret(
        employee, edge, "the audit report", files=(FileToShare("report.pdf", report),)
    )
    page = await open_landing(outsider, str(share))
    await reveal(page)
    assert await download_all(page, tmp_path / "share") == {"report.pdf": report}

    # A request: asked signed in, answered with a file and no account, collected.
    fill, collect, _ = await ask_in_browser(employee, edge, "the vendor's API key and cert")
    answering = await open_fill(outsider, str(fill))
    cert = os.urandom(2 * SEGMENT + 5)
    LEAK_WATCH.add("answer file", cert[:64])
    await answering.fill("#answer-text", "key: not-a-real-key-0123456789")
    await answering.set_input_files(
        "#secret-files", [FilePayload(name="vendor.crt", mimeType="text/plain", buffer=cert)]
    )
    await answering.click("#answer-button")
    await answering.wait_for_selector("#sent:not([hidden]), #answer-error:not([hidden])")
    assert await answering.is_visible("#sent"), await answering.text_content("#answer-error")
    collecting = await open_collect(employee, str(collect))
    await collecting.wait_for_selector("#reveal-form:not([hidden])")
    await reveal_answer(collecting)
    assert await download_all(collecting, tmp_path / "answer") == {"vendor.crt": cert}

    # The outsider cannot share, ask or see the asker's view: sign-in comes first.
    for path in ("/", "/ask", f"/c/{collect.id}"):
        answered = await (await outsider.new_page()).goto(edge + path)
        assert answered is not None and answered.status == 401, path
