"""Which language a person gets: Accept-Language read as RFC 9110 says, matched to
the languages we have by language and script, English when none matches."""

from __future__ import annotations

import pytest

from services.i18n import LANGUAGES, PSEUDO, accept_language, match, negotiate, translations
from services.i18n.pseudo import CLOSE, OPEN, pseudo


def test_accept_language_is_read_by_quality_then_order() -> None:
    header = "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"
    assert accept_language(header) == ["fr-CH", "fr", "en", "de"]
    assert accept_language("de;q=0.5, ja") == ["ja", "de"]
    assert accept_language("ja;q=0, ko;q=abc, ;q=1, es") == ["es"]
    assert accept_language("") == []


@pytest.mark.parametrize(
    ("wanted", "got"),
    [
        (["fr-CH"], "fr"),
        (["zh-TW"], "zh-Hant"),
        (["zh-HK"], "zh-Hant"),
        (["zh-CN"], "zh-Hans"),
        (["zh"], "zh-Hans"),
        (["pt-PT"], "pt-BR"),
        (["nn-NO"], "nb"),
        (["iw"], "he"),
        (["xx", "tlh", "ar-EG"], "ar"),
        (["sw", "kl"], "en"),
        ([], "en"),
        (["*"], "en"),
        (["en-XA"], "en-XA"),
    ],
)
def test_negotiation(wanted: list[str], got: str) -> None:
    assert negotiate(wanted).tag == got


def test_a_long_or_strange_header_is_bounded_and_harmless() -> None:
    header = ",".join(["x-" + "a" * 50] * 5000) + ",ja"
    assert negotiate(accept_language(header)).tag == "en"  # ja is past the first 40
    assert match("../../etc/passwd") is None
    assert match("ar\r\nX-Evil: 1") is None


def test_right_to_left_languages_say_so() -> None:
    assert {tag for tag, each in LANGUAGES.items() if each.direction == "rtl"} == {"ar", "fa", "he"}


def test_the_pseudo_language_keeps_placeholders_markup_and_entities() -> None:
    text = pseudo("Signed in as <strong>%(name)s</strong>: {count} views &amp; 100%%")
    assert text.startswith(OPEN) and text.endswith(CLOSE)
    for kept in ("<strong>", "%(name)s", "</strong>", "{count}", "&amp;", "%%"):
        assert kept in text
    assert "Signed" not in text and "views" not in text
    assert translations(PSEUDO).ngettext("one", "many", 2) == pseudo("many")
