"""Right-to-left languages (Arabic, Hebrew, Persian): a browser that asks for one gets
the pages with ``dir="rtl"`` on ``<html>``, and they mirror on a phone, with nothing
wider than the screen, the brand at the right of the site's navigation, and each form
label at the right, above the right edge of its field. The same pages left to right
keep the brand at the left, and in every language (long German and Finnish words,
Thai without spaces) they fit a phone's width."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize

from services.i18n import LANGUAGES

PHONE: ViewportSize = {"width": 390, "height": 844}
PAGES = ["/", "/ask"]  # the share and the ask forms


@asynccontextmanager
async def on_a_phone(browser: Browser, url: str, locale: str) -> AsyncIterator[Page]:
    """The page on a phone whose browser asks for ``locale``, in a context of its own."""
    context = await browser.new_context(viewport=PHONE, locale=locale)
    try:
        page = await context.new_page()
        await page.goto(url)
        await page.wait_for_selector("#expires option", state="attached")  # its script ran
        yield page
    finally:
        await context.close()


# The boxes the checks compare, in CSS pixels. A label's text is measured as well as its
# box: the box is a block as wide as the field's column in either direction.
GEOMETRY = """() => {
  const box = (element) => {
    const { left, right, top, bottom, width, height } = element.getBoundingClientRect();
    return { left, right, top, bottom, width, height };
  };
  const text = (element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return box(range);
  };
  const shown = (element) => element.checkVisibility() && box(element).width > 1;
  const labels = [...document.querySelectorAll("main label[for]")]
    .map((label) => [label, document.getElementById(label.htmlFor)])
    .filter(([label, field]) => field && shown(label) && shown(field))
    .map(([label, field]) => ({
      id: field.id, label: box(label), text: text(label), field: box(field),
    }));
  return {
    direction: getComputedStyle(document.documentElement).direction,
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
    brand: box(document.querySelector(".site-header .brand")),
    nav: box(document.querySelector(".site-header .site-nav")),
    labels,
  };
}"""


async def geometry(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate(GEOMETRY)
    return found


def assert_fits_the_screen(found: dict[str, Any]) -> None:
    assert found["scrollWidth"] <= found["innerWidth"], found


def starts_before(first: dict[str, float], second: dict[str, float], rtl: bool) -> bool:
    """``first`` comes before ``second`` in reading order: beside it on the same line
    (at its right when right-to-left), or on an earlier line and starting no further
    from the line's start."""
    same_line = first["top"] < second["bottom"] and second["top"] < first["bottom"]
    if same_line:
        return first["left"] >= second["right"] if rtl else first["right"] <= second["left"]
    starts_no_later = (
        first["right"] >= second["right"] - 1 if rtl else first["left"] <= second["left"] + 1
    )
    return first["bottom"] <= second["top"] and starts_no_later


@pytest.mark.parametrize(
    ("locale", "path"), [("ar", "/"), ("he", "/"), ("fa", "/"), ("ar", "/ask")]
)
async def test_pages_mirror_right_to_left_on_a_phone(
    browser: Browser, site: str, locale: str, path: str
) -> None:
    async with on_a_phone(browser, site + path, locale) as page:
        assert await page.get_attribute("html", "lang") == locale
        found = await geometry(page)
    assert found["direction"] == "rtl"
    assert_fits_the_screen(found)
    assert starts_before(found["brand"], found["nav"], rtl=True), found
    assert found["labels"], "no label to check"
    for label in found["labels"]:
        assert abs(label["text"]["right"] - label["field"]["right"]) <= 1, label
        assert label["text"]["left"] > label["label"]["left"] + 1, label  # and not the left


@pytest.mark.parametrize("path", PAGES)
async def test_pages_left_to_right_keep_the_brand_at_the_left(
    browser: Browser, site: str, path: str
) -> None:
    async with on_a_phone(browser, site + path, "en-US") as page:
        found = await geometry(page)
    assert found["direction"] == "ltr"
    assert_fits_the_screen(found)
    assert starts_before(found["brand"], found["nav"], rtl=False), found
    for label in found["labels"]:
        assert abs(label["text"]["left"] - label["field"]["left"]) <= 1, label
        assert label["text"]["right"] < label["label"]["right"] - 1, label


@pytest.mark.parametrize("tag", list(LANGUAGES))
async def test_every_language_fits_a_phone(browser: Browser, site: str, tag: str) -> None:
    for path in PAGES:
        async with on_a_phone(browser, site + path, tag) as page:
            assert await page.get_attribute("html", "lang") == tag
            assert_fits_the_screen(await geometry(page))
