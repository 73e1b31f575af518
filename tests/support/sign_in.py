"""What needs no account behind single sign-on: the requests an anonymous recipient
or responder makes, and the routes the compose file's oauth2-proxy lets through
without sign-in (``OAUTH2_PROXY_SKIP_AUTH_ROUTES``)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
ID = "bjENOfnOvK0IFnvfqt16AQ"

# (method, path, open to anyone): what an anonymous recipient and responder do, and
# what only a signed-in sender or asker may.
REQUESTS = [
    ("GET", f"/s/{ID}", True),
    ("GET", f"/q/{ID}", True),
    ("GET", "/static/js/open.js", True),
    ("GET", "/static/i18n/ar.json", True),
    ("GET", "/brand.css", True),
    ("GET", "/brand/logo", True),
    ("POST", f"/api/v1/secrets/{ID}/peek", True),
    ("POST", f"/api/v1/secrets/{ID}/reveal", True),
    ("POST", f"/api/v1/secrets/{ID}/delete", True),
    ("GET", f"/api/v1/contents/{ID}/segments/3", True),
    ("POST", f"/api/v1/contents/{ID}/downloaded", True),
    ("POST", f"/api/v1/requests/{ID}/open", True),
    ("POST", f"/api/v1/requests/{ID}/answer", True),
    ("PUT", f"/api/v1/contents/{ID}/segments/3", True),
    ("GET", f"/api/v1/contents/{ID}/upload", True),
    ("POST", f"/api/v1/contents/{ID}/finalize", True),
    ("GET", "/api/v1/limits", False),  # says who is signed in: the create page needs it
    ("GET", "/", False),
    ("GET", "/ask", False),
    ("GET", f"/r/{ID}", False),
    ("GET", f"/c/{ID}", False),
    ("GET", "/admin/", False),
    ("POST", "/api/v1/secrets", False),
    ("POST", "/api/v1/contents", False),
    ("POST", "/api/v1/requests", False),
    ("GET", f"/api/v1/requests/{ID}", False),
    ("GET", f"/api/v1/receipts/{ID}", False),
    ("DELETE", f"/api/v1/secrets/{ID}", False),
    ("POST", f"/api/v1/receipts/{ID}/revoke", False),
]


def skip_auth_routes() -> list[tuple[str, re.Pattern[str]]]:
    """The compose file's oauth2-proxy routes that need no sign-in, as (method, regex)."""
    compose = yaml.safe_load(COMPOSE.read_text())
    raw = compose["services"]["oauth2-proxy"]["environment"]["OAUTH2_PROXY_SKIP_AUTH_ROUTES"]
    routes = []
    for route in raw.replace("$$", "$").split(","):
        method, _, pattern = route.partition("=")
        routes.append((method, re.compile(pattern)))
    return routes


def skips_sign_in(routes: list[tuple[str, re.Pattern[str]]], method: str, path: str) -> bool:
    return any(method == m and pattern.search(path) for m, pattern in routes)
