"""axe-core (vendored from npm) finds no serious or critical violation on the
create, landing, reveal and receipt pages, in light and in dark mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.async_api import Page

from tests.support.browser import create_secret, open_landing, reveal
from tests.support.fixtures_types import NewContext
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
