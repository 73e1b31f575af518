"""The request pages (issue 17) in real browsers: ask on /ask, answer on the fill
link's page (/q/), collect on the collect link's page (/c/). Where a test needs
the other side played, it plays it through the api with services/protocol, as
tests/functional/test_requests.py does."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from playwright.async_api import FilePayload, Request, Route

from services.protocol import request
from services.protocol.envelope import b64u_encode
from services.server.settings import Settings
from tests.browser.test_accessibility import serious_violations
from tests.support.asking import REQUESTS, Asker, new_asker, sealed_answer
from tests.support.browser import (
    ask_in_browser,
    download_all,
    open_collect,
    open_fill,
    reveal_answer,
)
from tests.support.fixtures_types import NewContext
from tests.support.leaks import LEAK_WATCH
from tests.support.services import make_settings

SEGMENT = 16 * 1024


@pytest.fixture
def settings(database_url: str, test_log: Path) -> Settings:
    """Small segments, so that a file of a few dozen KB goes up and comes down in several."""
    return make_settings(database_url, SEGMENT_SIZE=str(SEGMENT))


@dataclass(frozen=True)
class AskedByApi:
    """A request asked through the api, as the asker's client would: its two links."""

    id: str
    asker: Asker
    site: str

    @property
    def fill(self) -> str:
        key = self.asker.fill_key + self.asker.public_key
        return f"{self.site}/q/{self.id}#{b64u_encode(key)}"

    @property
    def collect(self) -> str:
        return f"{self.site}/c/{self.id}#{b64u_encode(self.asker.private_key)}"


async def post(site: str, path: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(site + path, json=body) as answer:
        assert answer.status == expected, await answer.text()
        shown: dict[str, Any] = await answer.json()
        return shown


async def ask_by_api(site: str, note: str, **fields: Any) -> AskedByApi:
    asker = new_asker(note=note)
    asked = await post(site, REQUESTS, asker.body(**fields), 201)
    return AskedByApi(asked["id"], asker, site)


async def answer_by_api(site: str, asked: AskedByApi, text: str) -> None:
    """The responder's client: the text sealed as a v2 content, its key wrapped to the asker."""
    body, segments = sealed_answer(asked.asker.public_key, text, b"", SEGMENT)
    assert len(segments) == 1  # nothing more to upload
    await post(site, f"{REQUESTS}/{asked.id}/answer", {**body, **asked.asker.fill_claim()}, 201)


async def open_by_api(site: str, asked: AskedByApi) -> None:
    await post(site, f"{REQUESTS}/{asked.id}/open", asked.asker.fill_claim(), 200)


async def test_asked_answered_with_a_file_and_collected_byte_for_byte(
    site: str, new_context: NewContext, tmp_path: Path
) -> None:
    note = f"Please send the staging key {secrets.token_hex(4)}, for the nightly export."
    text = f"the staging key is {secrets.token_hex(8)}"
    blob = os.urandom(3 * SEGMENT + 500)  # several segments each way
    LEAK_WATCH.add("note", note)
    LEAK_WATCH.add("answer", text)
    LEAK_WATCH.add("file", blob[:64])
    asker, _ = await new_context()
    fill, collect, asked = await ask_in_browser(asker, site, note)
    assert fill.id == collect.id
    assert await asked.get_attribute("#collect-open", "href") == str(collect)

    responder, _ = await new_context()
    page = await open_fill(responder, str(fill))
    assert await page.text_content("#request-note") == note
    await page.fill("#answer-text", text)
    await page.set_input_files(
        "#secret-files", [FilePayload(name="staging.key", mimeType="text/plain", buffer=blob)]
    )
    await page.click("#answer-button")
    await page.wait_for_selector("#sent:not([hidden]), #answer-error:not([hidden])")
    assert "Only the person who asked can open it" in str(await page.text_content("#sent-title"))

    collector, _ = await new_context(accept_downloads=True)
    collecting = await open_collect(collector, str(collect))
    await collecting.wait_for_selector("#reveal-form:not([hidden])")
    assert await collecting.text_content("#stage") == "Answered"
    await reveal_answer(collecting)
    assert await collecting.input_value("#secret-text") == text
    assert await download_all(collecting, tmp_path) == {"staging.key": blob}
    await collecting.wait_for_selector("#life >> text=You opened the answer")

    # The fill link, once answered, says so and holds nothing of the answer.
    again = await open_fill(responder, str(fill))
    assert "already been answered" in str(await again.text_content("#status"))
    assert await again.is_hidden("#answer-form")
    assert text not in await again.content()


async def test_a_fill_link_never_shows_the_answer(site: str, new_context: NewContext) -> None:
    asked = await ask_by_api(site, "the deploy token, please")
    text = f"deploy token {secrets.token_hex(8)}"
    await answer_by_api(site, asked, text)
    # The fill link's id with the collect page's path: its key is not a collect key.
    context, _ = await new_context()
    wrong_page = await open_collect(context, asked.fill.replace("/q/", "/c/"))
    assert "key in this collect link is damaged" in str(await wrong_page.text_content("#status"))
    page = await open_fill(context, asked.fill)
    assert "already been answered" in str(await page.text_content("#status"))
    for shown in (page, wrong_page):
        assert text not in await shown.content()
    assert await wrong_page.is_hidden("#revealed")


async def test_an_expired_request_says_so_on_both_pages(
    site: str, new_context: NewContext, db: asyncpg.Connection
) -> None:
    asked = await ask_by_api(site, "the VPN certificate")
    await db.execute("UPDATE requests SET expires_at = now() - interval '1 s'")
    context, _ = await new_context()
    page = await open_fill(context, asked.fill)
    assert "This request has expired" in str(await page.text_content("#status"))
    assert await page.is_hidden("#answer-form")
    collecting = await open_collect(context, asked.collect)
    assert await collecting.text_content("#stage") == "Expired"
    assert await collecting.is_hidden("#reveal-form")
    assert await collecting.is_visible("#life >> text=The request expired unanswered")


async def test_a_wrong_or_damaged_fill_link_says_what_is_wrong(
    site: str, new_context: NewContext
) -> None:
    asked = await ask_by_api(site, "the printer's admin password")
    context, _ = await new_context()
    unknown = await open_fill(context, asked.fill.replace(f"/q/{asked.id}", f"/q/{'A' * 22}"))
    assert "No request matches this link" in str(await unknown.text_content("#status"))
    cut = await open_fill(context, asked.fill[:-10])
    assert "key in this link is damaged" in str(await cut.text_content("#status"))
    no_key = await open_fill(context, asked.fill.split("#")[0])
    assert "missing its key" in str(await no_key.text_content("#status"))


async def test_the_collect_page_turns_from_waiting_to_answered_by_itself(
    site: str, new_context: NewContext
) -> None:
    asked = await ask_by_api(site, "the on-call phone's PIN")
    context, _ = await new_context()
    page = await open_collect(context, asked.collect)
    assert await page.text_content("#stage") == "Waiting"
    assert await page.is_hidden("#reveal-form")

    await open_by_api(site, asked)
    await page.wait_for_selector("#stage:text-is('Opened')")
    assert await page.is_visible("#life >> text=They opened your link")
    text = f"PIN {secrets.token_hex(4)}"
    await answer_by_api(site, asked, text)
    await page.wait_for_selector("#reveal-form:not([hidden])")
    assert await page.text_content("#stage") == "Answered"
    await reveal_answer(page)
    assert await page.input_value("#secret-text") == text
    await page.wait_for_selector("#stage:text-is('Collected')")  # the answer's view, in its life
    assert "You opened the answer" in str(await page.text_content("#stage-detail"))


async def test_the_note_is_shown_as_text_never_as_markup(
    site: str, new_context: NewContext
) -> None:
    note = 'Hi <img src=x onerror="window.pwned = 1"> <b>bold</b>'
    asker, _ = await new_context()
    fill, _, _ = await ask_in_browser(asker, site, note)
    responder, _ = await new_context()
    page = await open_fill(responder, str(fill))
    assert await page.text_content("#request-note") == note
    assert await page.locator("#request-note img, #request-note b").count() == 0
    assert await page.evaluate("window.pwned") is None


async def test_an_answer_is_sent_once_however_often_send_is_clicked(
    site: str, new_context: NewContext
) -> None:
    asked = await ask_by_api(site, "the wifi password")
    context, _ = await new_context()
    page = await open_fill(context, asked.fill)
    answers: list[Request] = []
    held = asyncio.Event()

    async def hold(route: Any) -> None:
        answers.append(route.request)
        await held.wait()
        await route.continue_()

    await page.route("**/api/v1/requests/*/answer", hold)
    await page.fill("#answer-text", "correct horse battery staple")
    await page.click("#answer-button")
    await page.wait_for_selector("#answer-button[disabled]")
    await page.press("#answer-text", "Control+Enter")
    await page.locator("#answer-form").evaluate("form => form.requestSubmit()")
    held.set()
    await page.wait_for_selector("#sent:not([hidden])")
    assert len(answers) == 1


async def test_the_request_pages_have_no_serious_accessibility_violations(
    site: str, new_context: NewContext
) -> None:
    # axe is injected as a script, which the pages' CSP rightly forbids: bypass it here.
    context, _ = await new_context(bypass_csp=True)
    fill, collect, asked = await ask_in_browser(context, site, "the staging database password")
    found = {"ask result": await serious_violations(asked)}
    await asked.goto(f"{site}/ask")
    await asked.wait_for_selector("#max-size option", state="attached")
    await asked.click(".more-options summary")
    found["ask"] = await serious_violations(asked)
    collecting = await open_collect(context, str(collect))
    found["collect waiting"] = await serious_violations(collecting)
    page = await open_fill(context, str(fill))
    found["fill"] = await serious_violations(page)
    await page.fill("#answer-text", "hunter2-hunter2")
    await page.click("#answer-button")
    await page.wait_for_selector("#sent:not([hidden])")
    found["fill sent"] = await serious_violations(page)
    await collecting.wait_for_selector("#reveal-form:not([hidden])")
    found["collect answered"] = await serious_violations(collecting)
    await reveal_answer(collecting)
    found["collect revealed"] = await serious_violations(collecting)
    assert {name: v for name, v in found.items() if v} == {}


async def test_an_answer_through_a_changed_fill_link_is_refused_by_the_collect_page(
    site: str, new_context: NewContext
) -> None:
    asked = await ask_by_api(site, "the root password of the build host")
    # Someone on the way put their own public key in the fill link's fragment.
    theirs = request.public_key(request.new_private_key())
    changed = f"{site}/q/{asked.id}#{b64u_encode(asked.asker.fill_key + theirs)}"
    responder, _ = await new_context()
    page = await open_fill(responder, changed)
    text = f"root password {secrets.token_hex(8)}"
    LEAK_WATCH.add("answer", text)
    await page.fill("#answer-text", text)
    await page.click("#answer-button")
    await page.wait_for_selector("#sent:not([hidden])")

    asker, _ = await new_context()
    collecting = await open_collect(asker, asked.collect)
    await collecting.wait_for_selector("#reveal-form:not([hidden])")
    await collecting.click("#reveal-button")
    await collecting.wait_for_selector("#reveal-error:not([hidden])")
    assert "sealed to another key" in str(await collecting.text_content("#reveal-error"))
    # The view is spent, and the page's next look at the request's life shows it:
    # the warning stays.
    await collecting.wait_for_selector("#life >> text=You opened the answer")
    assert await collecting.is_visible("#reveal-error")
    assert text not in await collecting.content()


async def test_an_answer_whose_upload_stops_ends_the_page_plainly(
    site: str, new_context: NewContext
) -> None:
    asked = await ask_by_api(site, "the build signing key, please")
    context, _ = await new_context()
    page = await open_fill(context, asked.fill)

    async def cut(route: Route) -> None:
        if route.request.method != "PUT":
            await route.continue_()
            return
        gone = {"type": "urn:burnafter:problem:upload-expired", "title": "Upload expired",
                "status": 410, "detail": "The time to upload this content is over."}  # fmt: skip
        await route.fulfill(
            status=410, content_type="application/problem+json", body=json.dumps(gone)
        )

    # The api took the answer and its first segment; the rest cannot follow.
    await page.route("**/api/v1/contents/*/segments/*", cut)
    await page.set_input_files(
        "#secret-files",
        [FilePayload(name="signing.key", mimeType="text/plain", buffer=os.urandom(3 * SEGMENT))],
    )
    await page.click("#answer-button")
    await page.wait_for_selector("#status.notice-error")
    assert "cannot be answered again" in str(await page.text_content("#status"))
    assert await page.is_hidden("#answer-form")  # nothing left to click
