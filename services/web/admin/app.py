"""The admin sub-app: every route behind one auth middleware."""

from __future__ import annotations

from aiohttp import web

from services.server.rate_limits import RateLimiter
from services.server.settings import Settings
from services.web.admin import dashboard, forms, tokens
from services.web.admin.auth import SIGN_IN, SIGN_IN_LIMITER, admin_only


def create_admin_app(settings: Settings) -> web.Application:
    """Mounted at ``/admin`` by the web service; the routes below are under it."""
    app = web.Application(middlewares=[admin_only])
    app[SIGN_IN_LIMITER] = RateLimiter({SIGN_IN: settings.limits.rate_limit_admin_sign_in})
    app[forms.FORM_KEY] = forms.form_key(settings)
    app.router.add_get("", dashboard.overview, name="admin")
    app.router.add_get("/audit", dashboard.audit_history, name="admin_audit")
    app.router.add_get("/tokens", tokens.token_list, name="admin_tokens")
    app.router.add_post("/tokens", tokens.token_create)
    app.router.add_post("/tokens/{name}/revoke", tokens.token_revoke)
    return app
