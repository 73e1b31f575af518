"""No English nobody translated: every page the server renders, in every state it
renders (the admin's included, with a form error and a new token), in the
pseudo-language en-XA, where every translated message reads ⟦ŧĥûš⟧. What is left
outside ⟦ ⟧ with two Latin letters in a row is English that escaped translation.
The browser code's messages are checked the same way in tests/browser/test_languages.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from services.i18n import PSEUDO as PSEUDO_LANGUAGE
from services.i18n.pseudo import CLOSE, OPEN
from tests.support.fixtures_types import ApiClient, ClientWith

TOKEN = "t" * 32
PSEUDO = {"Cookie": "lang=en-XA"}
ADMIN = {**PSEUDO, "Authorization": f"Bearer {TOKEN}"}
ID = "AAAAAAAAAAAAAAAAAAAAAA"
# Text a page may show untranslated: the product's name, and the switcher's
# languages, each written in itself; and the words of dates, which Babel writes in
# en-XA's formats (English's: "Dec 4, 2026, 3:08 AM"), from CLDR, not our messages.
_FORMATS = PSEUDO_LANGUAGE.locale
DATE_WORDS = {
    *_FORMATS.months["format"]["wide"].values(),
    *_FORMATS.months["format"]["abbreviated"].values(),
    *(_FORMATS.day_periods["format"]["abbreviated"][period] for period in ("am", "pm")),
}
MAY_STAY = {"burnafter", *DATE_WORDS}
TEXT_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")
ENGLISH = re.compile(r"[A-Za-z]{2,}")
TRANSLATED = re.compile(re.escape(OPEN) + r"[^" + re.escape(CLOSE) + r"]*" + re.escape(CLOSE))


class VisibleText(HTMLParser):
    """The text a person reads or hears: text nodes and the attributes read out,
    without scripts, styles, code samples and the language switcher's names."""

    SKIPPED = ("script", "style", "code", "option", "title")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping.append(tag)
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.found.append(data.strip())


def untranslated(html: str, typed: set[str] | None = None) -> list[str]:
    """English left on the page; ``typed``: words a person typed in, shown as they are."""
    parser = VisibleText()
    parser.feed(html)
    left = []
    for text in parser.found:
        words = ENGLISH.findall(TRANSLATED.sub(" ", text))
        left += [
            f"{word!r} in {text!r}" for word in words if word not in MAY_STAY | (typed or set())
        ]
    return left


@pytest.fixture
async def site(admin_site: ClientWith) -> ApiClient:
    return await admin_site(ADMIN_TOKEN=TOKEN)


@pytest.mark.parametrize(
    "path", ["/", f"/s/{ID}", f"/r/{ID}", "/ask", f"/q/{ID}", f"/c/{ID}", "/no/such/page"]
)
async def test_every_page_is_translated(site: ApiClient, path: str) -> None:
    response = await site.get(path, headers=PSEUDO)
    assert response.headers["Content-Language"] == "en-XA"
    html = await response.text()
    assert 'lang="en-XA"' in html
    assert untranslated(html) == []


@pytest.mark.parametrize("path", ["/admin", "/admin/audit", "/admin/tokens"])
async def test_every_admin_page_is_translated(site: ApiClient, path: str) -> None:
    response = await site.get(path, headers=ADMIN)
    assert response.status == 200
    assert untranslated(await response.text()) == []


async def test_admin_sign_in_and_form_states_are_translated(site: ApiClient) -> None:
    denied = await site.get("/admin", headers=PSEUDO)
    assert denied.status == 401
    assert untranslated(await denied.text()) == []
    same_origin = {**ADMIN, "Sec-Fetch-Site": "same-origin"}
    refused = await site.post("/admin/tokens", data={"name": "BAD NAME"}, headers=same_origin)
    assert refused.status == 400
    assert untranslated(await refused.text()) == []
    new_token = {"name": "ci", "owner": "ops", "expires_days": "30"}
    made = await site.post("/admin/tokens", data=new_token, headers=same_origin)
    assert made.status == 200
    typed = {"ci", "ops"}  # the token's name and owner, shown as the admin typed them
    assert untranslated(await made.text(), typed) == []
    listed = await site.get("/admin/tokens", headers=ADMIN)
    assert untranslated(await listed.text(), typed) == []
