"""API tokens on the admin dashboard: list, create (the value is shown once), and
revoke. Forms post to the same origin only: a POST whose ``Origin`` is another
site is refused, so a page elsewhere cannot make an admin's browser act."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from services.common import tokens
from services.common.audit import AUDITOR
from services.common.client_address import access_of
from services.common.keys import POOL
from services.web.admin import require_admin

MAX_FORM_BYTES = 4096
MAX_EXPIRES_DAYS = 3650


def _same_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin", "")
    if not origin or urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="Cross-site form posts are refused.")


async def _form(request: web.Request) -> dict[str, str]:
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length or 0)
    return {key: str(value).strip() for key, value in (await request.post()).items()}


async def _page(request: web.Request, actor: str, status: int = 200, **extra: Any) -> web.Response:
    listed = await tokens.list_tokens(request.config_dict[POOL])
    now = datetime.now(UTC)
    context = {"actor": actor, "tokens": [(t, t.state(now)) for t in listed], **extra}
    return aiohttp_jinja2.render_template("admin_tokens.html", request, context, status=status)


async def token_list(request: web.Request) -> web.Response:
    return await _page(request, require_admin(request))


async def token_create(request: web.Request) -> web.Response:
    actor = require_admin(request)
    _same_origin(request)
    form = await _form(request)
    name, owner, days = form.get("name", ""), form.get("owner", ""), form.get("expires_days", "")
    if not tokens.NAME.match(name):
        return await _page(
            request, actor, error="Name: lower-case letters, digits, . _ -; up to 64.", status=400
        )
    if not owner or len(owner) > tokens.MAX_OWNER_CHARS:
        return await _page(request, actor, error="Owner: who answers for this token.", status=400)
    if days and not (days.isdigit() and 1 <= int(days) <= MAX_EXPIRES_DAYS):
        return await _page(
            request, actor, error=f"Expiry: 1 to {MAX_EXPIRES_DAYS} days, or empty.", status=400
        )
    expires_in = int(days) * 86400 if days else None
    try:
        value, made = await tokens.create_token(request.config_dict[POOL], name, owner, expires_in)
    except tokens.TokenNameTaken:
        return await _page(request, actor, error="A token of that name exists.", status=409)
    request.app[AUDITOR].record(
        "token.created", outcome="ok", actor=actor, access=access_of(request), token=made.name
    )
    return await _page(request, actor, new_token=value, new_name=made.name)


async def token_revoke(request: web.Request) -> web.Response:
    actor = require_admin(request)
    _same_origin(request)
    name = request.match_info["name"]
    revoked = await tokens.revoke_token(request.config_dict[POOL], name)
    if revoked is None:
        return await _page(request, actor, error="No live token of that name.", status=404)
    request.app[AUDITOR].record(
        "token.revoked", outcome="ok", actor=actor, access=access_of(request), token=name
    )
    raise web.HTTPSeeOther("/admin/tokens")


def add_token_routes(app: web.Application) -> None:
    app.router.add_get("/admin/tokens", token_list, name="admin_tokens")
    app.router.add_post("/admin/tokens", token_create)
    app.router.add_post("/admin/tokens/{name}/revoke", token_revoke)
