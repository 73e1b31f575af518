"""What the create, ask and receipt pages show a sender: only the choices their kind
of sender is allowed, a sign-in notice when the policy asks for one, the webhook
endpoints to notify, and the notifications sent."""

from __future__ import annotations

import json
from pathlib import Path

from services.client.links import parse_link
from services.dev.app import build_app
from tests.functional.test_webhooks import HOOK_SECRET, Receiver
from tests.support.browser import open_landing, reveal
from tests.support.fixtures_types import AiohttpServer, NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_text
from tests.support.services import make_settings
from tests.support.waiting import eventually
from tools.net import free_port


async def served(aiohttp_server: AiohttpServer, database_url: str, **env: str) -> str:
    server = await aiohttp_server(build_app(make_settings(database_url, **env)))
    return str(server.make_url("")).rstrip("/")


async def test_an_anonymous_sender_sees_only_allowed_expiries(
    aiohttp_server: AiohttpServer, database_url: str, test_log: Path, new_context: NewContext
) -> None:
    site = await served(aiohttp_server, database_url, ANONYMOUS_MAX_EXPIRES_IN="3600")
    context, _ = await new_context()
    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#expires option", state="attached")
    offered = [
        int(v)
        for v in await page.eval_on_selector_all("#expires option", "os => os.map(o => o.value)")
    ]
    assert offered and max(offered) == 3600
    assert await page.is_hidden("#sign-in-needed")


async def test_the_sso_policy_asks_an_anonymous_visitor_to_sign_in(
    aiohttp_server: AiohttpServer, database_url: str, test_log: Path, new_context: NewContext
) -> None:
    site = await served(aiohttp_server, database_url, CREATE_POLICY="sso")
    context, _ = await new_context()
    page = await context.new_page()
    await page.goto(site + "/")
    await page.wait_for_selector("#sign-in-needed:not([hidden])")
    assert await page.is_disabled("#create-button")


async def test_the_request_policy_asks_for_sign_in_before_the_ask_form_is_filled(
    aiohttp_server: AiohttpServer, database_url: str, test_log: Path, new_context: NewContext
) -> None:
    site = await served(aiohttp_server, database_url, CREATE_POLICY="open", REQUEST_POLICY="sso")
    context, _ = await new_context()
    asking = await context.new_page()
    await asking.goto(site + "/ask")
    await asking.wait_for_selector("#sign-in-needed:not([hidden])")
    await asking.fill("#note", "the staging database password")
    assert await asking.is_disabled("#ask-button")  # typing does not undo it
    creating = await context.new_page()
    await creating.goto(site + "/")
    await creating.wait_for_selector("#expires option", state="attached")
    assert await creating.is_hidden("#sign-in-needed")  # sharing stays open to all


async def test_notify_on_the_create_page_and_notifications_on_the_receipt(
    aiohttp_server: AiohttpServer, database_url: str, test_log: Path, new_context: NewContext
) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    LEAK_WATCH.add("webhook secret", HOOK_SECRET)
    hooks = [{"name": "ops", "url": receiver.url, "secret": HOOK_SECRET}]
    settings = make_settings(database_url, WEBHOOKS=json.dumps(hooks), WEBHOOK_INTERVAL="0.05")
    server = await aiohttp_server(build_app(settings))
    site = str(server.make_url("")).rstrip("/")
    try:
        sender, _ = await new_context()
        page = await sender.new_page()
        await page.goto(site + "/")
        await page.wait_for_selector("#expires option", state="attached")
        await page.fill("#secret-text", secret_text())
        await page.click(".more-options summary")
        await page.check('input[name="notify"][value="ops"]')
        await page.click("#create-button")
        await page.wait_for_selector("#result:not([hidden])")
        share, receipt = (
            await page.input_value("#share-link"),
            await page.input_value("#receipt-link"),
        )
        LEAK_WATCH.add_share_link(parse_link(share, "s"))
        LEAK_WATCH.add_receipt_link(parse_link(receipt, "r"))

        recipient, _ = await new_context()
        await reveal(await open_landing(recipient, share))
        # The app's own reaper task delivers (make run's shape); wait for it.
        await eventually(lambda: receiver.got, what="the webhook delivered")
        assert len(receiver.got) == 1

        receipt_page = await sender.new_page()
        await receipt_page.goto(receipt)
        await receipt_page.wait_for_selector("#notifications-section:not([hidden])")
        row = await receipt_page.text_content("#notifications tbody tr")
        assert "Viewed" in str(row) and "ops" in str(row) and "sent" in str(row)
        assert len(receiver.got) == 1
    finally:
        await receiver.stop()
