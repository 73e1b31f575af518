"""The web service: the pages and the browser code. ``create_app`` does no I/O."""

from __future__ import annotations

from aiohttp import web

from services.common.http import access_log, add_health_routes, database_context
from services.common.keys import SETTINGS
from services.common.settings import Settings

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>burnafter</title></head>
<body><h1>burnafter</h1>
<p>The web frontend is not built yet. Use the command line:
<code>burnafter send --server URL</code>, or the API at <code>/api/v1</code>.</p>
</body></html>
"""


async def index(request: web.Request) -> web.Response:
    return web.Response(text=_NOT_BUILT, content_type="text/html")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[access_log])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(database_context)
    add_health_routes(app)
    app.router.add_get("/", index, name="index")
    return app
