"""Languages: which ones burnafter speaks, which one a person wants, and its messages.

Every message is written in English in the code (templates, browser code, CLI,
emails) and translated in one gettext catalog per language,
``locales/<locale>/LC_MESSAGES/burnafter.po``, which Babel extracts and updates
(``make messages``). The server reads the catalogs with Babel; the browser gets
the messages its code uses as JSON made from the same catalogs (``make catalogs``).
A language is named by its BCP 47 tag (``pt-BR``, ``zh-Hant``) everywhere a person
or a browser sees it, and by Babel's locale identifier (``pt_BR``) on disk."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from services.i18n.pseudo import PseudoTranslations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "burnafter"


@cache
def _own_name(tag: str) -> str:
    """The language's name in itself, from CLDR: read on first use, since reading a
    locale's data costs about a megabyte of memory each (the api needs none)."""
    name = Locale.parse(tag, sep="-").get_display_name() or tag
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class Language:
    tag: str  # BCP 47, as in <html lang>, Accept-Language and the switcher
    given_name: str = ""  # its name where CLDR has none, or not the one to show
    formats: str = ""  # the tag whose dates and numbers it uses, if not its own

    @property
    def name(self) -> str:
        """In the language itself, as the switcher shows it."""
        return self.given_name or _own_name(self.tag)

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.formats or self.tag, sep="-")

    @property
    def identifier(self) -> str:
        """Babel's name for it, the catalog's folder: ``pt_BR``, ``zh_Hant``."""
        return str(self.locale)

    @property
    def direction(self) -> str:
        return self.locale.text_direction


_NAMES = {"id": "Bahasa Indonesia"}  # CLDR's "Indonesia" is the country's name too

# English first (the source), then by tag. Each is complete: tests/unit/i18n checks it.
LANGUAGES: dict[str, Language] = {
    tag: Language(tag, _NAMES.get(tag, ""))
    for tag in (
        "en", "ar", "cs", "da", "de", "el", "es", "fa", "fi", "fr", "he", "hi", "hu",
        "id", "it", "ja", "ko", "nb", "nl", "pl", "pt-BR", "ro", "ru", "sv", "th",
        "tr", "uk", "vi", "zh-Hans", "zh-Hant",
    )
}  # fmt: skip
SOURCE = LANGUAGES["en"]
# Not offered by the switcher: for finding English nobody translated (pseudo.py).
PSEUDO = Language("en-XA", "Ƥšéûðö", formats="en")
# Tags browsers send for a language we have under another name.
_SAME_LANGUAGE = {"no": "nb", "nn": "nb"}


def match(tag: str) -> Language | None:
    """The language we have for one BCP 47 tag: exact, else the same language (and
    script, for Chinese: ``zh-TW`` is Traditional, ``zh`` and ``zh-SG`` Simplified)."""
    if tag in LANGUAGES:
        return LANGUAGES[tag]
    if tag == PSEUDO.tag:
        return PSEUDO
    try:
        wanted = Locale.parse(tag.strip(), sep="-")
    except (ValueError, UnknownLocaleError):
        return None
    language = _SAME_LANGUAGE.get(wanted.language, wanted.language)
    candidates = [each for each in LANGUAGES.values() if each.locale.language == language]
    for each in candidates:
        if wanted.script and each.locale.script == wanted.script:
            return each
    return candidates[0] if candidates else None


_MAX_ACCEPT_LANGUAGE = 40  # entries read from one header; browsers send a handful


def accept_language(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (RFC 9110 12.5.4)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:_MAX_ACCEPT_LANGUAGE]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(wanted: Iterable[str]) -> Language:
    """The first of the wanted tags that we speak, else English."""
    for tag in wanted:
        found = match(tag)
        if found:
            return found
    return SOURCE


def catalog_path(language: Language) -> Path:
    return LOCALES_DIR / language.identifier / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: Language) -> NullTranslations:
    """The language's messages, compiled from its ``.po`` on first use; English is
    the code's own text."""
    if language == SOURCE:
        return NullTranslations()
    if language == PSEUDO:
        return PseudoTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language.identifier, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for it)
    """Marks a message for extraction; the template translates it when shown (``{{ _(message) }}``)."""  # noqa: E501
    return message


# The terminal's language, for the ``burnafter`` client commands (services/client/translated.py).

_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
_NO_LANGUAGE = ("", "C", "POSIX")


def _posix_tag(value: str) -> str:
    """A POSIX locale name as a BCP 47 tag: ``pt_BR.UTF-8`` → ``pt-BR``, ``C.UTF-8`` →
    ``C``, ``zh_TW.UTF-8@radical`` → ``zh-TW`` (codeset and modifier dropped)."""
    return value.partition("@")[0].partition(".")[0].strip().replace("_", "-")


def terminal_language(environ: Mapping[str, str]) -> Language:
    """The language of a terminal's user, found as GNU gettext finds it: the locale
    of messages is the first of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set;
    unless it is ``C`` or ``POSIX`` (or none is set), ``LANGUAGE`` lists the languages
    wanted first (``de:fr_FR``). The first of these that we have (:func:`match`),
    then the locale's own language (where GNU gettext would fall back to English),
    else English."""
    locale = next((environ[name] for name in _LOCALE_VARIABLES if environ.get(name)), "")
    tag = _posix_tag(locale)
    if tag in _NO_LANGUAGE:
        return SOURCE
    wanted = [_posix_tag(each) for each in environ.get("LANGUAGE", "").split(":")]
    return negotiate([*(each for each in wanted if each not in _NO_LANGUAGE), tag])
