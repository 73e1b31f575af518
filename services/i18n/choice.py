"""The language a person chose, as an HTTP request from their browser says it.

The switcher on every page writes the choice in a preference cookie that holds the
language tag and nothing else (``LANGUAGE_COOKIE``); without one, the browser's
``Accept-Language`` decides. The pages are written in it (services/web), and the
api keeps it with an asker's email notice, for the email (services/worker/notices.py):
the browser's calls to the api, under the same origin, carry both."""

from __future__ import annotations

from aiohttp import web

from services.i18n import Language, accept_language, match, negotiate

LANGUAGE_COOKIE = "lang"
_MAX_TAG = 35  # RFC 5646, 4.4.1: the room a tag needs (ours are far shorter)


def chosen_language(request: web.Request) -> Language:
    cookie = request.cookies.get(LANGUAGE_COOKIE, "")
    if cookie and (chosen := match(cookie[:_MAX_TAG])):
        return chosen
    return negotiate(accept_language(request.headers.get("Accept-Language", "")))
