"""The dashboard's pages: lifecycle charts, live secrets, failed-unlock hot spots
and the audit history, read from PostgreSQL. Never ciphertext, never ids: secrets
appear as their audit reference.

The words are English messages marked with ``N_`` that the templates translate;
dates, counts and sizes are written in the page's language (Babel)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal

from services.i18n import N_, SOURCE, Language, translations
from services.server.appkeys import AUDITOR, POOL
from services.store import admin as admin_store
from services.store.vocabulary import EventKind, parse_event
from services.web.admin.auth import ADMIN
from services.web.languages import LANGUAGE

DAYS = 30
PAGE_SIZE = 50
MAX_PAGE = 1000
MAX_FILTER_CHARS = 64
# The charts' SVG: a plot area with room on the left for the count axis and below
# for the date axis; user units (about CSS pixels at the usual width).
CHART_WIDTH, CHART_HEIGHT = 300, 170
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 34, 280, 10, 128
DATE_TICKS = (0, 10, 20, 29)
"""Days (0 = the first of the 30) whose date is written under the axis."""
SIZE_LABELS = (
    # Translators: a row of the dashboard's table of live secrets by size
    N_("under 1 KB"),
    N_("1 to 4 KB"),
    N_("4 to 64 KB"),
    N_("64 to 256 KB"),
    N_("256 KB to 1 MB"),
    N_("over 1 MB"),
)
EXPIRY_LABELS = (
    # Translators: a row of the dashboard's table of live secrets by the time they have left
    N_("within 1 hour"),
    N_("1 hour to 1 day"),
    N_("1 to 7 days"),
    N_("7 to 30 days"),
    N_("over 30 days"),
)
EVENT_NAMES = {
    # Translators: what happened to a secret, in the dashboard's charts and audit history
    EventKind.CREATED: N_("Created"),
    EventKind.VIEWED: N_("Viewed"),
    EventKind.WRONG_PASSPHRASE: N_("Wrong passphrase"),
    EventKind.BURNED: N_("Burned"),
    EventKind.REVOKED: N_("Revoked"),
    EventKind.EXPIRED: N_("Expired"),
    EventKind.DELETED: N_("Deleted by the recipient"),
}
SIZE_UNITS = {
    # Translators: a size, %(size)s a number (1 KB = 1024 bytes)
    "KB": N_("%(size)s KB"),
    "MB": N_("%(size)s MB"),
    "GB": N_("%(size)s GB"),
    "TB": N_("%(size)s TB"),
}


def byte_count(count: int, language: Language = SOURCE, pattern: str | None = None) -> str:
    """A count of bytes in the language: ``76,053 bytes``, ``1 byte``."""
    words = translations(language).ngettext("%(count)s byte", "%(count)s bytes", count)
    return words % {"count": format_decimal(count, format=pattern, locale=language.locale)}


def human_bytes(count: int, language: Language = SOURCE) -> str:
    """A size as people read it, in the units of the size table (1 KB = 1024 bytes),
    as the create page writes file sizes: ``900 bytes``, ``4.9 KB``, ``74 KB``, ``1.2 MB``;
    in the language's words and digits (``4,9 KB`` in German)."""
    if count < 1024:
        return byte_count(count, language, "0")
    value, unit = count / 1024, "KB"
    for bigger in ("MB", "GB", "TB"):
        if round(value) < 1024:  # as written below: never "1024 KB"
            break
        value, unit = value / 1024, bigger
    size = format_decimal(value, "0.0" if round(value, 1) < 10 else "0", locale=language.locale)
    return translations(language).gettext(SIZE_UNITS[unit]) % {"size": size}


def _count_ticks(peak: int) -> list[int]:
    """Whole counts to label on the vertical axis: 0, the peak, and a middle one."""
    if peak <= 0:
        return [0, 1]  # the scale of an empty chart, as drawn
    return [0, peak] if peak < 4 else [0, peak // 2, peak]


def _chart(
    counts: dict[tuple[date, EventKind], int],
    event: EventKind,
    days: list[date],
    language: Language,
) -> dict[str, Any]:
    values = [counts.get((day, event), 0) for day in days]
    peak = max(values)
    top = peak or 1
    plot_height = PLOT_BOTTOM - PLOT_TOP
    step = (PLOT_RIGHT - PLOT_LEFT) / len(days)

    def y_of(value: float) -> float:
        return round(PLOT_BOTTOM - value / top * plot_height, 1)

    bars = []
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        bars.append(
            {
                "x": round(PLOT_LEFT + n * step + 1, 1),
                "y": y_of(value),
                "width": round(step - 2, 1),
                "height": round(PLOT_BOTTOM - y_of(value), 1),
                "day": format_date(day, "medium", locale=language.locale),
                "count": value,
            }
        )
    date_ticks = [
        {
            "x": round(PLOT_LEFT + (n + 0.5) * step, 1),
            "label": format_skeleton("MMMd", days[n], locale=language.locale),
            "iso": days[n].isoformat(),
        }
        for n in DATE_TICKS
        if n < len(days)
    ]
    return {
        "event": event,
        "name": EVENT_NAMES[event],
        "total": sum(values),
        "peak": peak,
        "bars": bars,
        "count_ticks": [{"y": y_of(tick), "label": tick} for tick in _count_ticks(peak)],
        "date_ticks": date_ticks,
    }


@aiohttp_jinja2.template("admin.html")
async def overview(request: web.Request) -> dict[str, Any]:
    actor = request[ADMIN]
    language = request.get(LANGUAGE, SOURCE)
    pool = request.config_dict[POOL]
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    counts = await admin_store.daily_counts(pool, DAYS)
    active = await admin_store.active_secrets(pool)
    return {
        "actor": actor,
        "section": "dashboard",
        "days": DAYS,
        "first_day": days[0],
        "last_day": days[-1],
        "first_day_words": format_date(days[0], "long", locale=language.locale),
        "last_day_words": format_date(days[-1], "long", locale=language.locale),
        "charts": [_chart(counts, event, days, language) for event in admin_store.CHARTED_EVENTS],
        "chart": {
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "left": PLOT_LEFT,
            "right": PLOT_RIGHT,
            "top": PLOT_TOP,
            "bottom": PLOT_BOTTOM,
        },
        "active": active,
        "active_size": human_bytes(active.bytes, language),
        "active_bytes": byte_count(active.bytes, language),
        "by_size": list(zip(SIZE_LABELS, active.by_size, strict=True)),
        "by_expiry": list(zip(EXPIRY_LABELS, active.by_expiry, strict=True)),
        "hotspots": await admin_store.failed_unlock_hotspots(pool, days=7, limit=10),
    }


def _filters(request: web.Request) -> tuple[EventKind | None, str | None, int]:
    """The audit page's query; a plain-text 400, in the page's language, when it is wrong."""
    language = request.get(LANGUAGE, SOURCE)
    _ = translations(language).gettext
    word = request.query.get("event") or None
    event = None if word is None else parse_event(word)
    if word is not None and event is None:
        raise web.HTTPBadRequest(text=_("Unknown event filter."))
    address = (request.query.get("address") or "").strip() or None
    if address is not None and (len(address) > MAX_FILTER_CHARS or not address.isprintable()):
        raise web.HTTPBadRequest(text=_("The address filter is too long or not printable."))
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise web.HTTPBadRequest(text=_("The page must be a number.")) from None
    if not 1 <= page <= MAX_PAGE:
        limit = format_decimal(MAX_PAGE, locale=language.locale)
        raise web.HTTPBadRequest(text=_("The page must be between 1 and %(max)s.") % {"max": limit})
    return event, address, page


@aiohttp_jinja2.template("admin_audit.html")
async def audit_history(request: web.Request) -> dict[str, Any]:
    actor = request[ADMIN]
    event, address, page = _filters(request)
    rows = await admin_store.audit_history(
        request.config_dict[POOL], event, address, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
    )
    auditor = request.config_dict[AUDITOR]
    return {
        "actor": actor,
        "section": "audit",
        "events": EVENT_NAMES,
        "event": event or "",
        "address": address or "",
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "rows": [
            {
                "at": row.at,
                "event": EVENT_NAMES[row.event],
                "ref": auditor.ref(row.secret_id),
                "client_address": row.client_address,
                "user_agent": row.user_agent,
            }
            for row in rows[:PAGE_SIZE]
        ],
    }
