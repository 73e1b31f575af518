"""The language of the ``burnafter`` client commands: the terminal's, found as GNU
gettext finds it (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``:
``services.i18n.terminal_language``), else English; its messages (``_``,
``ngettext``) and its way of writing numbers and moments.

Read once, from ``os.environ``, at the first message (as services/client/settings.py
reads the ``BURNAFTER_*`` variables when a command runs, never at import). A language
whose catalog is missing speaks English. An environment that names no language but
English (or none: ``C``, ``POSIX``) never loads ``services.i18n``, which reads every
language's CLDR data: a tenth of a second at each start of the command.

Mark a message kept in a table with :func:`N_` (Babel extracts it) and translate it
where it is shown, with ``_``: a table is made at import, before the language is
known."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from gettext import NullTranslations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

    from services.i18n import Language

_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
# A value that names English or no language: en, en_US.UTF-8, C, C.UTF-8, POSIX.
# Not en_XA, the pseudo-language (services/i18n/pseudo.py).
_ENGLISH_OR_NONE = re.compile(r"(?:C|POSIX|en(?:_(?!XA\b)[A-Za-z0-9]+)?)?(?:[.@].*)?")


@dataclass(frozen=True)
class Speech:
    """A language's messages, and the locale of its numbers and moments (``None``:
    English, in the code's own formats: ``2026-11-30 15:20``, ``9.5``)."""

    translations: NullTranslations
    locale: Locale | None = None


ENGLISH = Speech(NullTranslations())


def speech_of(language: Language) -> Speech:
    """``language``'s speech; English where its catalog is missing (or unreadable)."""
    from services.i18n import translations

    try:
        found = translations(language)
    except OSError:
        return ENGLISH
    locale = language.locale
    return Speech(found, None if locale.language == "en" else locale)


def speech_for(environ: Mapping[str, str]) -> Speech:
    """The speech of the terminal whose environment is ``environ``."""
    values = (environ.get(name) or "" for name in _VARIABLES)
    if all(_ENGLISH_OR_NONE.fullmatch(each.strip()) for v in values for each in v.split(":")):
        return ENGLISH
    from services.i18n import terminal_language

    return speech_of(terminal_language(environ))


class _Spoken:
    speech: Speech | None = None


def speech() -> Speech:
    """The command's speech, found at the first call."""
    if _Spoken.speech is None:
        _Spoken.speech = speech_for(os.environ)
    return _Spoken.speech


def speak(chosen: Speech | None) -> None:
    """Speak ``chosen`` from now on (``None``: the terminal's language again). With
    ``--json`` a program reads the command, in English (services/cli/main.py)."""
    _Spoken.speech = chosen


def _(message: str) -> str:
    return speech().translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return speech().translations.ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it, which Babel extracts
    """A message marked for the catalog, translated where it is shown (``_``)."""
    return message


# Numbers and moments, written the language's way.


def decimal(value: float, digits: int = 0) -> str:
    """``value`` with ``digits`` decimals and no grouping: ``9.5``, ``9,5``, ``1007``."""
    locale = speech().locale
    if locale is None:
        return f"{value:.{digits}f}"
    from babel.numbers import format_decimal

    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(value, format=pattern, locale=locale)


def percent(count: int) -> str:
    """A whole percentage, four characters at least: `` 42%``, ``42 %``."""
    locale = speech().locale
    if locale is None:
        return f"{count:3d}%"
    from babel.numbers import format_percent

    return format_percent(count / 100, locale=locale).rjust(4)


def date_time(when: datetime) -> str:
    """A moment, in UTC, to the minute: ``2026-11-30 15:20`` in English (as scripts
    and the server's timestamps write it), ``30.11.2026, 15:20`` in German."""
    when = when.astimezone(UTC)
    locale = speech().locale
    if locale is None:
        return when.strftime("%Y-%m-%d %H:%M")
    from babel.dates import format_date, format_time, get_datetime_format

    date = format_date(when, "medium", locale=locale)
    time = format_time(when, "short", tzinfo=UTC, locale=locale)
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    return pattern.replace("{0}", time).replace("{1}", date)
