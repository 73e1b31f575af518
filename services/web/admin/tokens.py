"""API tokens on the admin dashboard: list, create (the value is shown once), and
revoke. Every post is checked by :func:`forms.from_own_page` first, so a page on
another site cannot make an admin's browser act (``Sec-Fetch-Site``, else the
page's own ``Origin`` or its hidden form token; why not ``Origin`` alone: there).
A refused post changes nothing and answers 403 with the token page and why.

Errors are English messages marked with ``N_`` (values apart, in ``error_values``)
that the template translates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel.numbers import format_decimal

from services.i18n import N_, SOURCE
from services.server.appkeys import AUDITOR, POOL
from services.server.client_address import access_of
from services.store import tokens
from services.store.errors import TokenNameTaken
from services.web.admin import forms
from services.web.admin.auth import ADMIN
from services.web.languages import LANGUAGE

MAX_FORM_BYTES = 4096


async def _form(request: web.Request) -> dict[str, str]:
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length or 0)
    return {key: str(value).strip() for key, value in (await request.post()).items()}


async def _page(request: web.Request, actor: str, status: int = 200, **extra: Any) -> web.Response:
    listed = await tokens.list_tokens(request.config_dict[POOL])
    now = datetime.now(UTC)
    context = {
        "actor": actor,
        "section": "tokens",
        "form_token": forms.make_token(request, actor),
        "tokens": [(t, t.state(now)) for t in listed],
        "error_values": {},
        **extra,
    }
    return aiohttp_jinja2.render_template("admin_tokens.html", request, context, status=status)


async def token_list(request: web.Request) -> web.Response:
    return await _page(request, request[ADMIN])


async def token_create(request: web.Request) -> web.Response:
    actor = request[ADMIN]
    form = await _form(request)
    if not forms.from_own_page(request, actor, form):
        return await _page(request, actor, error=forms.REFUSED, status=403)
    name, owner, days = form.get("name", ""), form.get("owner", ""), form.get("expires_days", "")
    if not tokens.is_valid_name(name):
        # Translators: the API token form's error; ". _ -" are the characters allowed
        error = N_("Name: lower-case letters, digits, . _ -; up to 64.")
        return await _page(request, actor, error=error, status=400)
    if not tokens.is_valid_owner(owner):
        error = N_("Owner: who answers for this token.")
        return await _page(request, actor, error=error, status=400)
    try:
        expires_in = tokens.expiry_days(days) * 86400 if days else None
    except ValueError:
        locale = request.get(LANGUAGE, SOURCE).locale
        return await _page(
            request,
            actor,
            error=N_("Expiry: 1 to %(max)s days, or empty."),
            error_values={"max": format_decimal(tokens.MAX_EXPIRES_DAYS, locale=locale)},
            status=400,
        )
    try:
        value, made = await tokens.create_token(request.config_dict[POOL], name, owner, expires_in)
    except TokenNameTaken:
        return await _page(request, actor, error=N_("A token of that name exists."), status=409)
    request.config_dict[AUDITOR].record(
        "token.created", outcome="ok", actor=actor, access=access_of(request), token=made.name
    )
    return await _page(request, actor, new_token=value, new_name=made.name)


async def token_revoke(request: web.Request) -> web.Response:
    actor = request[ADMIN]
    if not forms.from_own_page(request, actor, await _form(request)):
        return await _page(request, actor, error=forms.REFUSED, status=403)
    name = request.match_info["name"]
    revoked = None
    if tokens.is_valid_name(name):
        revoked = await tokens.revoke_token(request.config_dict[POOL], name)
    if revoked is None:
        return await _page(request, actor, error=N_("No live token of that name."), status=404)
    request.config_dict[AUDITOR].record(
        "token.revoked", outcome="ok", actor=actor, access=access_of(request), token=name
    )
    raise web.HTTPSeeOther("/admin/tokens")
