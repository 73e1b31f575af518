"""The pages in the reader's language: a secret shared from a Japanese browser opens
in Arabic (and the other way round), the switcher changes the language of every
page and keeps a link's key, and no state of any page shows English nobody
translated: every page, in the pseudo-language en-XA, in each state a person meets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page

from services.i18n import LANGUAGES, translations
from services.i18n.pseudo import CLOSE, OPEN
from tests.support.browser import (
    ask_in_browser,
    create_secret,
    open_collect,
    open_fill,
    open_landing,
    open_receipt,
    reveal,
    reveal_answer,
)
from tests.support.fixtures_types import NewContext
from tests.support.sealing import secret_passphrase, secret_text

# The text a person reads or hears in the page as it stands: visible text nodes and
# the attributes read out, without what is not ours to translate (code samples, the
# switcher's language names, what people typed, and what the page marks
# translate="no": a browser's names).
VISIBLE_TEXT = """() => {
  const ours = (el) => !el.closest(
    "code, script, style, textarea, input, select, .language-switcher, [translate=no]");
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    const text = walker.currentNode.textContent.trim();
    if (text && el && ours(el) && el.checkVisibility()) texts.push(text);
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title], [alt]")) {
    if (!ours(el) || !el.checkVisibility()) continue;
    for (const name of ["aria-label", "placeholder", "title", "alt"]) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts;
}"""
# The words Intl writes in the page's language (months, AM/PM, time zones, units,
# "in 3 days", "5 minutes ago"): the browser's, not messages of ours. The
# pseudo-language's Intl is English, so its pages may show these.
INTL_WORDS = """() => {
  const lang = document.documentElement.lang;
  const said = [];
  const moment = new Intl.DateTimeFormat(lang, {
    dateStyle: "medium", timeStyle: "long", timeZone: "UTC" });
  const long = new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "short", day: "numeric", hour: "numeric", timeZoneName: "short" });
  for (let month = 0; month < 12; month += 1) {
    for (const hour of [3, 15]) {
      const at = new Date(Date.UTC(2026, month, 15, hour));
      said.push(moment.format(at), long.format(at));
    }
  }
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const units = ["second", "minute", "hour", "day", "week", "month", "year"];
  for (const unit of units) {
    for (const amount of [-2, -1, 0, 1, 2]) said.push(relative.format(amount, unit));
    for (const unitDisplay of ["long", "short", "narrow"]) {
      const format = new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay });
      said.push(format.format(1), format.format(2));
    }
  }
  for (const unit of ["byte", "kilobyte", "megabyte", "gigabyte"]) {
    for (const unitDisplay of ["long", "short", "narrow"]) {
      said.push(new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay }).format(2));
    }
  }
  return said.join(" ");
}"""
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
PSEUDO_MESSAGE = re.compile(re.escape(OPEN) + "[^" + re.escape(CLOSE) + "]*" + re.escape(CLOSE))
# Words a page may show in any language: the product's name, units Intl writes so,
# and "API" (as in "API key"), which the languages we speak write in Latin letters.
MAY_STAY = {"burnafter", "KB", "MB", "GB", "kB", "B", "API"}


async def english_left(page: Page, *, pseudo: bool = False) -> list[str]:
    may_stay = MAY_STAY | set(LATIN_WORD.findall(await page.evaluate(INTL_WORDS)))
    left = []
    for text in await page.evaluate(VISIBLE_TEXT):
        rest = PSEUDO_MESSAGE.sub(" ", text) if pseudo else text
        left += [f"{w!r} in {text!r}" for w in LATIN_WORD.findall(rest) if w not in may_stay]
    return left


async def in_language(new_context: NewContext, tag: str, **options: Any) -> BrowserContext:
    """A browser whose person reads ``tag``: its Accept-Language and navigator.language."""
    context, _ = await new_context(locale=tag, **options)
    return context


async def page_language(page: Page) -> tuple[str, str]:
    lang, direction = await page.evaluate(
        "[document.documentElement.lang, document.documentElement.dir]"
    )
    return str(lang), str(direction)


@pytest.mark.parametrize(("sender_tag", "recipient_tag"), [("ja", "ar"), ("ar", "ja")])
async def test_shared_in_one_language_opens_in_the_recipient_s(
    site: str, new_context: NewContext, sender_tag: str, recipient_tag: str
) -> None:
    text, passphrase = secret_text(), secret_passphrase()
    sender = await in_language(new_context, sender_tag)
    create_page = await sender.new_page()
    await create_page.goto(site + "/")
    await create_page.wait_for_selector("#expires option", state="attached")
    assert (await page_language(create_page))[0] == sender_tag
    sender_words = translations(LANGUAGES[sender_tag])
    button = await create_page.text_content("#create-button")
    assert button and button.strip() == sender_words.gettext("Create secret link")
    assert await english_left(create_page) == []
    share, receipt = await create_secret(sender, site, text, passphrase=passphrase)
    assert "lang" not in str(share) and sender_tag not in share.id  # a link carries no language

    recipient = await in_language(new_context, recipient_tag)
    landing = await open_landing(recipient, str(share))
    expected_dir = "rtl" if recipient_tag == "ar" else "ltr"
    assert await page_language(landing) == (recipient_tag, expected_dir)
    assert await english_left(landing) == []
    await reveal(landing, "a wrong guess")
    assert await landing.is_visible("#reveal-error")
    assert await english_left(landing) == []
    await reveal(landing, passphrase)
    assert await landing.input_value("#secret-text") == text
    assert await english_left(landing) == []

    receipt_page = await open_receipt(sender, str(receipt))
    assert (await page_language(receipt_page))[0] == sender_tag
    assert await english_left(receipt_page) == []


async def test_the_switcher_changes_every_page_and_keeps_the_link(
    site: str, new_context: NewContext
) -> None:
    sender, _ = await new_context(locale="en-US")
    share, _ = await create_secret(sender, site, secret_text())
    recipient, _ = await new_context(locale="en-US")
    landing = await open_landing(recipient, str(share))
    assert (await page_language(landing))[0] == "en"
    async with landing.expect_navigation():
        await landing.select_option("#language-choice", "he")
    await landing.wait_for_selector("#reveal-form:not([hidden])")
    assert await page_language(landing) == ("he", "rtl")
    assert landing.url == str(share)  # reloaded in place: the key is still there
    cookies = {c["name"]: c for c in await recipient.cookies()}
    assert cookies["lang"]["value"] == "he" and cookies["lang"]["sameSite"] == "Lax"
    await reveal(landing)
    assert await landing.is_visible("#secret-text")

    other = await recipient.new_page()
    await other.goto(site + "/ask")  # remembered for every page
    assert await page_language(other) == ("he", "rtl")
    assert await other.input_value("#language-choice") == "he"
    stranger, _ = await new_context(locale="en-US")  # but only in that browser
    elsewhere = await stranger.new_page()
    await elsewhere.goto(site + "/ask")
    assert (await page_language(elsewhere))[0] == "en"


async def test_no_state_of_any_page_shows_untranslated_english(
    site: str, new_context: NewContext
) -> None:
    """Every page and the states a person meets, in the pseudo-language."""
    browser, _ = await new_context(locale="en-US")
    await browser.add_cookies([{"name": "lang", "value": "en-XA", "url": site}])
    left: dict[str, list[str]] = {}

    async def check(name: str, page: Page) -> None:
        assert (await page_language(page))[0] == "en-XA"
        left[name] = await english_left(page, pseudo=True)

    create_page = await browser.new_page()
    await create_page.goto(site + "/")
    await create_page.wait_for_selector("#expires option", state="attached")
    await create_page.click(".more-options summary")
    await check("create", create_page)
    await create_page.click("#create-button")  # nothing to share yet
    await check("create, empty", create_page)
    await create_page.fill("#secret-text", secret_text())
    await create_page.click("#create-button")
    await create_page.wait_for_selector("#result:not([hidden])")
    await check("created", create_page)

    passphrase = secret_passphrase()
    share, receipt = await create_secret(browser, site, secret_text(), passphrase=passphrase)
    landing = await open_landing(browser, str(share))
    await check("landing", landing)
    await reveal(landing, "a wrong guess")
    await check("wrong passphrase", landing)
    await reveal(landing, passphrase)
    await check("revealed", landing)
    gone = await open_landing(browser, str(share))
    await check("gone", gone)
    damaged = await browser.new_page()
    await damaged.goto(f"{share.base}/s/{share.id}#not-a-key")
    await damaged.wait_for_selector("#status.notice-error")
    await check("damaged link", damaged)
    await check("receipt", await open_receipt(browser, str(receipt)))

    fill, collect, ask_page = await ask_in_browser(browser, site, "1234")
    await check("asked", ask_page)
    waiting = await open_collect(browser, str(collect))
    await check("collect, waiting", waiting)
    fill_page = await open_fill(browser, str(fill))
    await check("fill", fill_page)
    await fill_page.fill("#answer-text", secret_text())
    await fill_page.click("#answer-button")
    await fill_page.wait_for_selector("#sent:not([hidden])")
    await check("answered", fill_page)
    again = await open_fill(browser, str(fill))
    await check("fill, already answered", again)
    answered = await open_collect(browser, str(collect))
    await reveal_answer(answered)
    await check("collected", answered)

    assert {name: words for name, words in left.items() if words} == {}
