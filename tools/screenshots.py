"""``make screenshots``: each page at phone and desktop widths, and in dark mode, into
docs/screenshots/; the create, landing and revealed pages in Arabic and Japanese
(phone and desktop); the create page under an operator's brand (light and dark).

Starts its own PostgreSQL and the app as ``make run`` serves it, on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import asyncpg
from aiohttp import web
from playwright.async_api import (
    BrowserContext,
    FilePayload,
    Page,
    ViewportSize,
    async_playwright,
)

from services.dev.app import build_app
from services.dev.embedded_postgres import EmbeddedPostgres
from services.server.settings import load_settings
from services.store.migrations import migrate
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FileToShare,
    create_secret,
    open_landing,
    reveal,
)

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
VARIANTS: dict[str, tuple[ViewportSize, Literal["light", "dark"]]] = {
    "phone": (PHONE, "light"),
    "desktop": (DESKTOP, "light"),
    "dark": (DESKTOP, "dark"),
}


async def shoot(context: BrowserContext, site: str, variant: str) -> None:
    async def save(page: Page, name: str) -> None:
        await page.screenshot(path=str(OUT / f"{name}-{variant}.png"), full_page=True)

    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", "db-admin / 4uK#p9!vQz-2mW")
    await page.fill("#views", "2")
    await page.get_by_label("Let the recipient delete it when done").check()
    await page.click(".more-options summary")
    await page.fill("#passphrase", "correct horse battery staple")
    await page.fill("#label", "Staging database, for Dana")
    await save(page, "create")
    await page.click("#create-button")
    await page.wait_for_selector("#result:not([hidden])")
    await save(page, "result")

    share, receipt = await create_secret(
        context,
        site,
        "AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        files=(FileToShare("ci-deploy.pem", b"-----BEGIN KEY-----\n", "text/plain"),),
        views=2,
        label="AWS key for the CI pipeline",
        recipient_may_delete=True,
    )
    landing = await open_landing(context, str(share))
    await save(landing, "landing")
    await reveal(landing)
    await save(landing, "revealed")
    receipt_page = await context.new_page()
    await receipt_page.goto(str(receipt))
    await receipt_page.wait_for_selector("#receipt:not([hidden])")
    await save(receipt_page, "receipt")
    await shoot_recipients(context, site, save)
    await shoot_request(context, site, save)


# A share with several recipients (issue 16): name, own passphrase, own views.
RECIPIENTS = (
    ("Dana Whitfield", None, None),
    ("Sam, on call this week", "otter-granite-lantern", None),
    ("Deploy robot", None, 3),
)


async def shoot_recipients(
    context: BrowserContext, site: str, save: Callable[[Page, str], Awaitable[None]]
) -> None:
    """The create page with three recipients, its result, and the receipt after one
    opened and another typed a wrong passphrase."""
    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", "db-admin / 4uK#p9!vQz-2mW")
    for name, passphrase, views in RECIPIENTS:
        await page.click("#add-recipient")
        row = page.locator("#recipient-list > li").last
        await row.get_by_label("Name").fill(name)
        if passphrase:
            await row.get_by_label("Own passphrase").fill(passphrase)
        if views:
            await row.get_by_label("Views").fill(str(views))
    await save(page, "create-recipients")
    await page.click("#create-button")
    await page.wait_for_selector("#result:not([hidden])")
    await save(page, "result-recipients")
    links = [await page.input_value(f"#recipient-link-{n}") for n in range(len(RECIPIENTS))]
    receipt = await page.input_value("#receipt-link")
    await reveal(await open_landing(context, links[0]))
    await reveal(await open_landing(context, links[1]), "a wrong guess")
    receipt_page = await context.new_page()
    await receipt_page.goto(receipt)
    await receipt_page.wait_for_selector("#recipients > li")
    await save(receipt_page, "receipt-recipients")


async def shoot_request(
    context: BrowserContext, site: str, save: Callable[[Page, str], Awaitable[None]]
) -> None:
    """A request for a secret (issue 17): the ask page and its two links, the fill
    page and its "sent", the collect page waiting and with the answer revealed."""
    page = await context.new_page()
    await page.goto(site + "/ask")
    await page.wait_for_selector("#max-size option", state="attached")
    await page.fill(
        "#note",
        "Hi Sam, it's Dana from the platform team. Could you send me the staging database"
        " password? I need it to fix the nightly export. Thanks!",
    )
    await save(page, "ask")
    await page.click("#ask-button")
    await page.wait_for_selector("#result:not([hidden])")
    await save(page, "ask-result")
    fill = await page.input_value("#fill-link")
    collect = await page.input_value("#collect-link")

    waiting = await context.new_page()
    await waiting.goto(collect)
    await waiting.wait_for_selector("#request:not([hidden])")
    fill_page = await context.new_page()
    await fill_page.goto(fill)
    await fill_page.wait_for_selector("#answer-form:not([hidden])")
    await waiting.wait_for_selector("#stage:text-is('Opened')")
    await save(waiting, "collect-waiting")
    await fill_page.fill("#answer-text", "staging-db / 7vQ!m2#LpX9-rT4k")
    await fill_page.set_input_files(
        "#secret-files",
        FilePayload(name="staging-ca.pem", mimeType="text/plain", buffer=b"-----BEGIN CERT-----\n"),
    )
    await save(fill_page, "fill")
    await fill_page.click("#answer-button")
    await fill_page.wait_for_selector("#sent:not([hidden])")
    await save(fill_page, "fill-sent")
    await waiting.wait_for_selector("#reveal-form:not([hidden])")
    await waiting.click("#reveal-button")
    await waiting.wait_for_selector("#revealed:not([hidden]):not([aria-busy=true])")
    await waiting.wait_for_selector("#stage:text-is('Collected')")
    await save(waiting, "collect-revealed")


LANGUAGE_VARIANTS = ("phone", "desktop")
SHOWN_LANGUAGES = ("ar", "ja")


async def shoot_language(context: BrowserContext, site: str, tag: str, variant: str) -> None:
    """The create page, a link's landing page and the revealed secret, in ``tag``."""

    async def save(page: Page, name: str) -> None:
        await page.screenshot(path=str(OUT / f"{name}-{tag}-{variant}.png"), full_page=True)

    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", "db-admin / 4uK#p9!vQz-2mW")
    await save(page, "create")
    share, _ = await create_secret(
        context,
        site,
        "db-admin / 4uK#p9!vQz-2mW",
        files=(FileToShare("staging-ca.pem", b"-----BEGIN CERT-----\n", "text/plain"),),
        views=2,
    )
    landing = await open_landing(context, str(share))
    await save(landing, "landing")
    await reveal(landing)
    await save(landing, "revealed")


# An operator's brand: what BRAND_* would set in production.
BRAND_LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32"'
    ' rx="7" fill="#0f62fe"/><path d="M9 22V10h7a4 4 0 0 1 0 8h-7" fill="none" stroke="#fff"'
    ' stroke-width="3"/></svg>'
)


def brand_settings(folder: Path) -> dict[str, str]:
    logo = folder / "logo.svg"
    logo.write_text(BRAND_LOGO_SVG, "utf-8")
    return {
        "BRAND_NAME": "Acme Vault",
        "BRAND_LOGO": str(logo),
        "BRAND_ACCENT": "#0f62fe",
        "BRAND_HELP_URL": "https://help.acme.example/vault",
        "BRAND_FOOTER": "Acme IT · Service desk, extension 4400",
    }


async def shoot_brand(context: BrowserContext, site: str, variant: str) -> None:
    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    await page.fill("#secret-text", "db-admin / 4uK#p9!vQz-2mW")
    await page.screenshot(path=str(OUT / f"create-brand-{variant}.png"), full_page=True)


async def serve(env: dict[str, str]) -> tuple[web.AppRunner, str]:
    settings = dataclasses.replace(load_settings(env), http_port=0, metrics_port=0)
    runner = web.AppRunner(build_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="burnafter-shots-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "postgres", durable=False)
    conn = await asyncpg.connect(await asyncio.to_thread(server.start))
    await migrate(conn)
    await conn.close()
    env = {"DATABASE_URL": server.url, "LOG_LEVEL": "WARNING"}
    runner, site = await serve(env)
    brand_runner, brand_site = await serve({**env, **brand_settings(folder)})
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            for variant, (viewport, scheme) in VARIANTS.items():
                context = await browser.new_context(
                    viewport=viewport,
                    color_scheme=scheme,
                )
                await shoot(context, site, variant)
                await context.close()
            for tag in SHOWN_LANGUAGES:
                for variant in LANGUAGE_VARIANTS:
                    viewport, scheme = VARIANTS[variant]
                    context = await browser.new_context(
                        viewport=viewport, color_scheme=scheme, locale=tag
                    )
                    await shoot_language(context, site, tag, variant)
                    await context.close()
            for variant in ("desktop", "dark"):
                viewport, scheme = VARIANTS[variant]
                context = await browser.new_context(viewport=viewport, color_scheme=scheme)
                await shoot_brand(context, brand_site, variant)
                await context.close()
            await browser.close()
    finally:
        await brand_runner.cleanup()
        await runner.cleanup()
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
