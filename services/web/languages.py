"""The language of each page: chosen per request, never stored on the server.

The switcher on every page writes the choice in a preference cookie that holds the
language tag and nothing else (``LANGUAGE_COOKIE``); without one, the browser's
``Accept-Language`` decides (``services.i18n.choice``, which the api asks too). A
link carries no language, so its recipient reads the page in their own. Templates
translate with Jinja2's i18n extension, its gettext reading the request's catalog
from the template context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2
from aiohttp import web
from babel.dates import format_datetime
from babel.numbers import format_decimal
from jinja2.runtime import Context

from services.i18n import LANGUAGES, Language, translations
from services.i18n.choice import chosen_language
from services.server.middlewares import Handler

LANGUAGE: web.RequestKey[Language] = web.RequestKey("language", Language)


@web.middleware
async def choose_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every page names its language (``Content-Language``) and what chose it (``Vary``)."""
    language = request[LANGUAGE] = chosen_language(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _describe(exc, language)
        raise
    _describe(response, language)
    return response


def _describe(response: web.StreamResponse, language: Language) -> None:
    if not response.prepared:
        response.headers["Content-Language"] = language.tag
        response.headers.add("Vary", "Accept-Language, Cookie")


async def language_context(request: web.Request) -> dict[str, Any]:
    """What every template knows of the language (an aiohttp-jinja2 context processor)."""
    language = request.get(LANGUAGE) or chosen_language(request)
    return {
        "language": language,
        "languages": LANGUAGES.values(),
        "translations": translations(language),
    }


@jinja2.pass_context
def _gettext(context: Context, message: str) -> str:
    return str(context["translations"].gettext(message))


@jinja2.pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return str(context["translations"].ngettext(singular, plural, count))


@jinja2.pass_context
def _format_number(context: Context, number: float, pattern: str | None = None) -> str:
    """``{{ n | format_number }}``: a number as the page's language writes it."""
    return format_decimal(number, format=pattern, locale=context["language"].locale)


@jinja2.pass_context
def _format_datetime(context: Context, moment: datetime, style: str = "medium") -> str:
    """``{{ at | format_datetime }}``: a date and time as the page's language writes it,
    in the moment's own time zone (UTC when it has none)."""
    return format_datetime(moment, format=style, locale=context["language"].locale)


def install_translations(environment: jinja2.Environment) -> None:
    """``{% trans %}`` and ``_()`` in the templates, whitespace trimmed, autoescaped."""
    environment.add_extension("jinja2.ext.i18n")
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["format_number"] = _format_number
    environment.filters["format_datetime"] = _format_datetime
