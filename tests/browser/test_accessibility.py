"""axe-core (vendored from npm) finds no serious or critical violation on the
create, landing, reveal and receipt pages, in light and in dark mode; nor in Arabic
(right to left) and Japanese, nor under an operator's brand whose accent colour
would be unreadable as it is."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import pytest
import pytest_asyncio
from playwright.async_api import Page

from services.dev.app import build_app
from services.server.settings import Settings
from tests.support.browser import create_secret, open_landing, reveal
from tests.support.fixtures_types import AiohttpServer, NewContext
from tests.support.sealing import secret_passphrase, secret_text

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_pages_have_no_serious_accessibility_violations(
    site: str, new_context: NewContext, scheme: Literal["light", "dark"]
) -> None:
    # axe is injected as a script, which the pages' CSP rightly forbids: bypass it here.
    sender, _ = await new_context(bypass_csp=True, color_scheme=scheme)
    create_page = await sender.new_page()
    await create_page.goto(site + "/")
    await create_page.wait_for_selector("#expires option", state="attached")
    await create_page.click(".more-options summary")
    found = {"create": await serious_violations(create_page)}

    share, receipt = await create_secret(
        sender, site, secret_text(), passphrase=secret_passphrase(), views=2
    )
    recipient, _ = await new_context(bypass_csp=True, color_scheme=scheme)
    landing = await open_landing(recipient, str(share))
    found["landing"] = await serious_violations(landing)
    await reveal(landing, "a wrong guess")
    found["wrong passphrase"] = await serious_violations(landing)

    share2, _ = await create_secret(sender, site, secret_text())
    revealed = await open_landing(recipient, str(share2))
    await reveal(revealed)
    found["reveal"] = await serious_violations(revealed)

    receipt_page = await sender.new_page()
    await receipt_page.goto(str(receipt))
    await receipt_page.wait_for_selector("#receipt:not([hidden])")
    found["receipt"] = await serious_violations(receipt_page)

    assert {page: v for page, v in found.items() if v} == {}

    # The scan itself works: a planted unlabelled field is reported.
    await create_page.evaluate("document.body.append(document.createElement('input'))")
    assert any(v["id"] == "label" for v in await serious_violations(create_page))


HELP_URL = "https://help.acme.example/vault"


@pytest_asyncio.fixture(loop_scope="session")
async def branded_site(aiohttp_server: AiohttpServer, settings: Settings, tmp_path: Path) -> str:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"/>', "utf-8")
    branded = dataclasses.replace(
        settings,
        brand_name="Acme Vault",
        brand_accent="#ffd700",  # unreadable on white as it is: the brand must adjust it
        brand_help_url=HELP_URL,
        brand_footer="Acme IT · Service desk, extension 4400",
        brand_logo=str(logo),
    )
    server = await aiohttp_server(build_app(branded))
    return str(server.make_url("")).rstrip("/")


async def scan_share_and_open(new_context: NewContext, site: str, **options: Any) -> dict[str, Any]:
    """The create page, a landing page and a revealed secret, as ``options`` see them."""
    sender, _ = await new_context(bypass_csp=True, **options)
    create_page = await sender.new_page()
    await create_page.goto(site + "/")
    await create_page.wait_for_selector("#expires option", state="attached")
    await create_page.click(".more-options summary")
    found = {"create": await serious_violations(create_page)}
    share, _ = await create_secret(sender, site, secret_text(), passphrase=secret_passphrase())
    recipient, _ = await new_context(bypass_csp=True, **options)
    landing = await open_landing(recipient, str(share))
    found["landing"] = await serious_violations(landing)
    await reveal(landing, "a wrong guess")
    found["wrong passphrase"] = await serious_violations(landing)
    return {page: v for page, v in found.items() if v}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("tag", ["ar", "ja"])
async def test_no_serious_violations_in_arabic_and_japanese(
    site: str, new_context: NewContext, scheme: Literal["light", "dark"], tag: str
) -> None:
    assert await scan_share_and_open(new_context, site, color_scheme=scheme, locale=tag) == {}


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_no_serious_violations_under_a_custom_brand(
    branded_site: str, new_context: NewContext, scheme: Literal["light", "dark"]
) -> None:
    found = await scan_share_and_open(new_context, branded_site, color_scheme=scheme)
    assert found == {}
    context, _ = await new_context(color_scheme=scheme)
    page = await context.new_page()
    await page.goto(branded_site + "/")
    assert "Acme Vault" in await page.title()
    assert "Acme Vault" in str(await page.text_content(".brand"))
    assert await page.get_attribute(".brand img", "src") == "/brand/logo"
    assert await page.evaluate("document.querySelector('.brand img').naturalWidth") > 0
    assert await page.get_attribute(".brand-footer a", "href") == HELP_URL
