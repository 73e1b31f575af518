"""The message catalogs, kept with Babel.

    python -m tools.messages update     # extract every message, merge into each .po (make messages)
    python -m tools.messages catalogs   # write the browser's JSON catalogs (make catalogs)

Messages come from three kinds of source: the Python code (``_``, ``gettext``,
``ngettext``, ``N_``), the templates (Jinja2's i18n extension, trimmed) and the
browser code (``t`` and ``tn`` of i18n.js). ``update`` merges them into every
language's catalog: new
messages arrive empty, changed ones fuzzy, and tests/unit/i18n fails until a
translator has done them. ``catalogs`` writes ``static/i18n/<tag>.json`` with the
messages the browser code uses, plural forms keyed by ``Intl.PluralRules``
category, for every language and the pseudo-language."""

from __future__ import annotations

import gettext
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from services.i18n import DOMAIN, LANGUAGES, PSEUDO, SOURCE, Language, catalog_path
from services.i18n.pseudo import pseudo

ROOT = Path(__file__).resolve().parents[1]

BROWSER_CATALOGS = ROOT / "services" / "web" / "static" / "i18n"
TRANSLATOR_TAG = "Translators:"

# (folder, file pattern, Babel extraction method, keywords, options)
SOURCES: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
    ("services", "**.py", "python", {**DEFAULT_KEYWORDS, "N_": None}, {}),
    (
        "services/web/templates",
        "**.html",
        "jinja2.ext:babel_extract",
        dict(DEFAULT_KEYWORDS),
        {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
    ),
    ("services/web/static/js", "**.js", "javascript", {"t": None, "tn": (1, 2)}, {}),
]


def extract() -> Catalog:
    """Every message of the code, with where it is used and its translator comments."""
    catalog = Catalog(project="burnafter", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for folder, pattern, method, keywords, options in SOURCES:
        found = extract_from_dir(
            ROOT / folder,
            method_map=[(pattern, method)],
            options_map={pattern: options},
            keywords=keywords,
            comment_tags=(TRANSLATOR_TAG,),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            location = (f"{folder}/{filename}", lineno)
            catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def browser_messages(template: Catalog) -> Iterator[Message]:
    """The messages the browser code uses."""
    for message in template:
        if message.id and any(path.endswith(".js") for path, _ in message.locations):
            yield message


def read_catalog(language: Language) -> Catalog:
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language.identifier, domain=DOMAIN)


def write_catalog(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, include_lineno=False, ignore_obsolete=True)


def update() -> None:
    template = extract()
    for language in LANGUAGES.values():
        if language == SOURCE:
            continue
        path = catalog_path(language)
        if path.exists():
            catalog = read_catalog(language)
        else:
            catalog = Catalog(locale=language.identifier, domain=DOMAIN, project="burnafter")
        catalog.update(template, update_header_comment=False)
        write_catalog(path, catalog)


def plural_categories(language: Language) -> dict[str, int]:
    """For each ``Intl.PluralRules`` category (CLDR's) of the language, the index of
    the .po plural form that the catalog's own ``Plural-Forms`` picks for it."""
    catalog = read_catalog(language)
    form_of = gettext.c2py(catalog.plural_expr)
    category_of = language.locale.plural_form
    categories: dict[str, int] = {}
    # The counts that tell the categories apart: the small ones, and the millions
    # that French, Spanish, Italian and Portuguese call "many".
    for n in [*range(1001), 10**6, 2 * 10**6, 10**9]:
        categories.setdefault(category_of(n), form_of(n))
    # Intl's fallback. Russian, Ukrainian and Polish say "other" only of fractions,
    # which no count is: their last form serves.
    categories.setdefault("other", catalog.num_plurals - 1)
    return categories


def browser_catalog(language: Language, template: Catalog) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    if language == PSEUDO:
        for message in browser_messages(template):
            if isinstance(message.id, tuple):
                messages[message.id[0]] = {
                    "one": pseudo(message.id[0]),
                    "other": pseudo(message.id[1]),
                }
            else:
                messages[str(message.id)] = pseudo(str(message.id))
        return {"lang": language.tag, "messages": messages}
    catalog = read_catalog(language)
    categories = plural_categories(language)
    for wanted in browser_messages(template):
        found = catalog.get(wanted.id, context=wanted.context)
        if found is None or not found.string or found.fuzzy:
            continue  # English, until translated; tests/unit/i18n says which
        if isinstance(found.string, tuple):
            key = wanted.id[0]
            messages[key] = {
                category: found.string[index] for category, index in categories.items()
            }
        else:
            messages[str(wanted.id)] = found.string
    return {"lang": language.tag, "messages": messages}


def catalogs() -> dict[str, str]:
    """Each browser catalog's file name and content."""
    template = extract()
    written = {}
    for language in [*LANGUAGES.values(), PSEUDO]:
        if language == SOURCE:
            continue
        content = json.dumps(
            browser_catalog(language, template), ensure_ascii=False, indent=0, sort_keys=True
        )
        written[f"{language.tag}.json"] = content + "\n"
    return written


def write_catalogs() -> None:
    BROWSER_CATALOGS.mkdir(parents=True, exist_ok=True)
    for name, content in catalogs().items():
        (BROWSER_CATALOGS / name).write_text(content, "utf-8")


if __name__ == "__main__":
    commands = {"update": update, "catalogs": write_catalogs}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()
