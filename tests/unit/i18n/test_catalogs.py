"""Every language is complete: each message of the templates, the browser code, the
CLI and the emails is in each catalog, translated (every plural form), not fuzzy,
with the same placeholders and markup as the English and no ASCII double quote
the English does not have; and the browser's JSON
catalogs are what ``make catalogs`` writes from the ``.po`` files."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message

from services.i18n import LANGUAGES, PSEUDO, SOURCE, Language, catalog_path
from tools import messages

TRANSLATED = [language for language in LANGUAGES.values() if language != SOURCE]
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)[a-z]")
TAG = re.compile(r"</?([a-z]+)")


@cache
def template() -> Catalog:
    return messages.extract()


def ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple | list) else (str(message.id),)


def forms(message: Message) -> tuple[str, ...]:
    """A translation's forms: one, or one per plural form."""
    if isinstance(message.string, tuple | list):
        return tuple(str(form or "") for form in message.string)
    return (str(message.string or ""),)


def test_thirty_languages_right_to_left_and_cjk_among_them() -> None:
    assert len(LANGUAGES) >= 30
    assert {"ar", "he", "fa"} <= {tag for tag, each in LANGUAGES.items() if each.direction == "rtl"}
    assert {"ja", "ko", "zh-Hans", "zh-Hant"} <= set(LANGUAGES)


def test_the_code_has_messages_from_every_kind_of_source() -> None:
    paths = {path for message in template() for path, _ in message.locations}
    for where in ("services/web/templates/", "services/web/static/js/", "services/cli/"):
        assert any(path.startswith(where) for path in paths), f"no message found in {where}"
    assert "services/worker/notices.py" in paths


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda language: language.tag)
def test_every_message_is_translated(language: Language) -> None:
    assert catalog_path(language).exists(), f"no catalog for {language.tag}: make messages"
    catalog = messages.read_catalog(language)
    missing, fuzzy, empty = [], [], []
    for wanted in template():
        if not wanted.id:
            continue
        found = catalog.get(wanted.id, context=wanted.context)
        if found is None:
            missing.append(ids(wanted)[0])
        elif found.fuzzy:
            fuzzy.append(ids(wanted)[0])
        else:
            plural = isinstance(found.string, tuple)
            all_forms = not plural or len(forms(found)) == catalog.num_plurals
            if not all_forms or not all(form.strip() for form in forms(found)):
                empty.append(ids(wanted)[0])
    problems = {"missing (make messages)": missing, "fuzzy": fuzzy, "untranslated": empty}
    assert not any(problems.values()), f"{language.tag}: {problems}"


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda language: language.tag)
def test_translations_keep_placeholders_and_markup(language: Language) -> None:
    catalog = messages.read_catalog(language)
    wrong = []
    for wanted in template():
        found = catalog.get(wanted.id, context=wanted.context) if wanted.id else None
        if found is None or not found.string:
            continue
        english = " ".join(ids(wanted))
        for form in forms(found):
            expected = set(PLACEHOLDER.findall(english))
            have = set(PLACEHOLDER.findall(form))
            if isinstance(found.string, tuple):
                # A form for exactly one (or two) may say it in words, not "{count}".
                expected -= {"{count}", "%(num)s", "%(count)s"}
                have -= {"{count}", "%(num)s", "%(count)s"}
            if expected != have or sorted(TAG.findall(english)) != sorted(TAG.findall(form)):
                wrong.append((ids(wanted)[0], form))
            elif '"' in form and '"' not in english:
                # The templates put messages in attributes: a translation quotes with
                # its language's own marks („…“, « … », 「…」), never ASCII '"'.
                wrong.append((ids(wanted)[0], form))
    assert not wrong, f"{language.tag}: placeholders or markup differ from the English: {wrong}"


def test_the_browser_catalogs_are_what_make_catalogs_writes() -> None:
    written = messages.catalogs()
    for name, content in written.items():
        path = messages.BROWSER_CATALOGS / name
        assert path.exists() and path.read_text("utf-8") == content, (
            f"static/i18n/{name} is stale: make catalogs"
        )
    on_disk = {path.name for path in messages.BROWSER_CATALOGS.glob("*.json")}
    assert on_disk == set(written), "a browser catalog of a language we do not have"


@pytest.mark.parametrize("tag", ["ar", "ru", "ja", "fr"])
def test_plural_categories_cover_the_languages_forms(tag: str) -> None:
    """Each Intl.PluralRules category maps to a form of the catalog, and every form
    the catalog has is reached by some category."""
    language = LANGUAGES[tag]
    categories = messages.plural_categories(language)
    catalog = messages.read_catalog(language)
    assert "other" in categories
    assert set(categories.values()) == set(range(catalog.num_plurals))


def test_the_pseudo_language_has_every_browser_message() -> None:
    browser = {ids(message)[0] for message in messages.browser_messages(template())}
    pseudo = messages.browser_catalog(PSEUDO, template())["messages"]
    assert set(pseudo) == browser
