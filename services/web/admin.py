"""The admin dashboard at /admin: lifecycle charts, live secrets, failed-unlock hot
spots and the audit history, read from PostgreSQL. Never ciphertext, never ids:
secrets appear as their audit reference.

Off unless ``ADMIN_TOKEN``, ``ADMIN_USERS`` or ``ADMIN_GROUPS`` is set. An admin is
either a signed-in user (services/common/identity.py) named in ``ADMIN_USERS`` or
in a group of ``ADMIN_GROUPS``, or anyone presenting ``ADMIN_TOKEN`` (HTTP Basic
password, or Bearer)."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import web

from services.common import admin_store
from services.common.audit import AUDITOR
from services.common.client_address import access_of
from services.common.http import bearer_token
from services.common.identity import signed_in
from services.common.keys import POOL, SETTINGS

log = structlog.get_logger("burnafter.admin")

DAYS = 30
PAGE_SIZE = 50
MAX_PAGE = 1000
MAX_FILTER_CHARS = 64
CHART_WIDTH, CHART_HEIGHT = 300, 80
SIZE_LABELS = (
    "under 1 KB",
    "1 to 4 KB",
    "4 to 64 KB",
    "64 to 256 KB",
    "256 KB to 1 MB",
    "over 1 MB",
)
EXPIRY_LABELS = ("within 1 hour", "1 hour to 1 day", "1 to 7 days", "7 to 30 days", "over 30 days")
EVENT_NAMES = {
    "created": "Created",
    "viewed": "Viewed",
    "unlock_failed": "Wrong passphrase",
    "locked": "Locked",
    "revoked": "Revoked",
    "expired": "Expired",
}


def _presented_token(request: web.Request) -> str | None:
    bearer = bearer_token(request)
    if bearer is not None:
        return bearer
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return None


def require_admin(request: web.Request) -> str:
    """The admin's identity, or a 404 (dashboard off), 401 or 403. Every decision
    on a presented credential is an audit line."""
    settings = request.config_dict[SETTINGS]
    if not settings.admin_token and not settings.admin_users and not settings.admin_groups:
        raise web.HTTPNotFound()
    auditor, access = request.app[AUDITOR], access_of(request)

    def audit(outcome: str, actor: str | None) -> None:
        auditor.record(
            "admin.access", outcome=outcome, actor=actor, access=access, path=request.path
        )

    identity = signed_in(request)
    if identity is not None and (settings.admin_users or settings.admin_groups):
        if identity.user in settings.admin_users or identity.groups & settings.admin_groups:
            audit("ok", identity.user)
            return identity.user
        audit("denied", identity.user)
        raise web.HTTPForbidden(text="You are signed in, but not as an admin.")
    token = _presented_token(request)
    if token is None:
        raise web.HTTPUnauthorized(
            headers={"WWW-Authenticate": 'Basic realm="burnafter admin", charset="UTF-8"'}
        )
    if settings.admin_token and hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        audit("ok", "admin-token")
        return "admin-token"
    audit("denied", None)
    raise web.HTTPUnauthorized(
        headers={"WWW-Authenticate": 'Basic realm="burnafter admin", charset="UTF-8"'}
    )


def _chart(counts: dict[tuple[date, str], int], event: str, days: list[date]) -> dict[str, Any]:
    values = [counts.get((day, event), 0) for day in days]
    top = max(values) or 1
    step = CHART_WIDTH / len(days)
    bars = []
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        height = round(value / top * (CHART_HEIGHT - 4), 1)
        bars.append(
            {
                "x": round(n * step + 1, 1),
                "y": CHART_HEIGHT - height,
                "width": round(step - 2, 1),
                "height": height,
                "title": f"{day.isoformat()}: {value}",
            }
        )
    return {
        "event": event,
        "name": EVENT_NAMES[event],
        "total": sum(values),
        "peak": max(values),
        "bars": bars,
    }


@aiohttp_jinja2.template("admin.html")
async def overview(request: web.Request) -> dict[str, Any]:
    actor = require_admin(request)
    pool = request.config_dict[POOL]
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    counts = await admin_store.daily_counts(pool, DAYS)
    active = await admin_store.active_secrets(pool)
    return {
        "actor": actor,
        "days": DAYS,
        "first_day": days[0],
        "charts": [_chart(counts, event, days) for event in admin_store.CHARTED_EVENTS],
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "active": active,
        "by_size": list(zip(SIZE_LABELS, active.by_size, strict=True)),
        "by_expiry": list(zip(EXPIRY_LABELS, active.by_expiry, strict=True)),
        "hotspots": await admin_store.failed_unlock_hotspots(pool, days=7, limit=10),
    }


def _filters(request: web.Request) -> tuple[str | None, str | None, int]:
    event = request.query.get("event") or None
    if event is not None and event not in admin_store.EVENTS:
        raise web.HTTPBadRequest(text="Unknown event filter.")
    address = (request.query.get("address") or "").strip() or None
    if address is not None and len(address) > MAX_FILTER_CHARS:
        raise web.HTTPBadRequest(text="The address filter is too long.")
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise web.HTTPBadRequest(text="The page must be a number.") from None
    if not 1 <= page <= MAX_PAGE:
        raise web.HTTPBadRequest(text=f"The page must be between 1 and {MAX_PAGE}.")
    return event, address, page


@aiohttp_jinja2.template("admin_audit.html")
async def audit_history(request: web.Request) -> dict[str, Any]:
    actor = require_admin(request)
    event, address, page = _filters(request)
    rows = await admin_store.audit_history(
        request.config_dict[POOL], event, address, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
    )
    auditor = request.app[AUDITOR]
    return {
        "actor": actor,
        "events": EVENT_NAMES,
        "event": event or "",
        "address": address or "",
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "rows": [
            {
                "at": row.at,
                "event": EVENT_NAMES.get(row.event, row.event),
                "ref": auditor.ref(row.secret_id),
                "client_address": row.client_address,
                "user_agent": row.user_agent,
            }
            for row in rows[:PAGE_SIZE]
        ],
    }


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/admin", overview, name="admin")
    app.router.add_get("/admin/audit", audit_history, name="admin_audit")
