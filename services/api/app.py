"""The api service: ``create_app`` builds it and does no I/O."""

from __future__ import annotations

import json
from importlib import resources

from aiohttp import web
from prometheus_client import CollectorRegistry

from services.api import contents, handlers, secret_requests
from services.api.abuse import StorageCap
from services.api.appkeys import OPENAPI, RATE_LIMITER, SECRET_EVENTS, STORAGE_CAP
from services.api.events import SecretEvents
from services.api.problems import problem_middleware
from services.api.requests import create_body_limit, max_sealed_bytes
from services.server.audit import Auditor
from services.server.metrics import SecretMetrics
from services.server.middlewares import request_telemetry
from services.server.rate_limits import RateLimiter
from services.server.service import setup_service
from services.server.settings import Settings
from services.store import secrets


def openapi_document(settings: Settings) -> bytes:
    """The OpenAPI document as this deployment serves it: ``notify`` names only the
    webhook endpoints configured here, and a v2 create (and a request's answer) this
    service's segment size and largest content."""
    document = json.loads((resources.files("services.api") / "openapi.json").read_bytes())
    schemas = document["components"]["schemas"]
    names = [hook.name for hook in settings.webhooks]
    for create in ("CreateSecret", "CreateContent", "Ask"):
        notify = schemas[create]["properties"]["notify"]
        if names:
            notify["items"] = {"enum": names}
        else:
            notify["maxItems"] = 0
    for body in ("CreateContent", "Answer"):
        content = schemas[body]["properties"]
        content["segment_size"]["enum"] = [settings.limits.segment_size]
        content["sealed_bytes"]["maximum"] = max_sealed_bytes(settings.limits)
    schemas["Ask"]["properties"]["max_content_bytes"]["maximum"] = settings.limits.max_content_bytes
    return json.dumps(document, indent=2).encode()


def create_v1(settings: Settings, registry: CollectorRegistry) -> web.Application:
    """The v1 API, to be mounted at ``/api``; its routes start with ``/v1``."""
    app = web.Application(
        client_max_size=create_body_limit(settings.limits), middlewares=[problem_middleware]
    )
    limits = settings.limits
    app[SECRET_EVENTS] = SecretEvents(Auditor(settings.audit_key, "api"), SecretMetrics(registry))
    app[RATE_LIMITER] = RateLimiter(
        {
            "create": limits.rate_limit_create,
            "peek": limits.rate_limit_peek,
            "reveal": limits.rate_limit_reveal,
            "receipt": limits.rate_limit_receipt,
        }
    )
    app[STORAGE_CAP] = StorageCap(
        secrets.StorageLimits(
            limits.max_stored_ciphertext_bytes, limits.max_stored_ciphertext_bytes_per_sender
        ),
        settings.audit_key,
    )
    app[OPENAPI] = openapi_document(settings)
    app.router.add_get("/v1/openapi.json", handlers.openapi_document, name="openapi")
    app.router.add_get("/v1/limits", handlers.limits, name="limits")
    app.router.add_post("/v1/secrets", handlers.create_secret, name="create_secret")
    app.router.add_post("/v1/secrets/{id}/peek", handlers.peek_secret, name="peek_secret")
    app.router.add_post("/v1/secrets/{id}/reveal", handlers.reveal_secret, name="reveal_secret")
    app.router.add_post("/v1/secrets/{id}/delete", handlers.delete_secret, name="delete_secret")
    app.router.add_delete("/v1/secrets/{id}", handlers.revoke_secret, name="revoke_secret")
    app.router.add_get("/v1/receipts/{id}", handlers.read_receipt, name="read_receipt")
    app.router.add_post("/v1/receipts/{id}/revoke", handlers.revoke_share, name="revoke_share")
    app.router.add_post("/v1/contents", contents.create_content, name="create_content")
    segment = "/v1/contents/{id}/segments/{index}"
    app.router.add_put(segment, contents.put_segment, name="put_segment")
    app.router.add_get(segment, contents.read_segment, name="read_segment")
    app.router.add_get("/v1/contents/{id}/upload", contents.upload_state, name="upload_state")
    app.router.add_post("/v1/contents/{id}/finalize", contents.finalize, name="finalize")
    app.router.add_post("/v1/contents/{id}/downloaded", contents.downloaded, name="downloaded")
    app.router.add_post("/v1/requests", secret_requests.ask, name="ask")
    app.router.add_get("/v1/requests/{id}", secret_requests.read_request, name="read_request")
    app.router.add_post("/v1/requests/{id}/open", secret_requests.open_request, name="open_request")
    app.router.add_post(
        "/v1/requests/{id}/answer", secret_requests.answer_request, name="answer_request"
    )
    return app


def create_app(settings: Settings) -> web.Application:
    """The standalone api process: health routes, and the v1 API under ``/api``."""
    app = web.Application(
        client_max_size=create_body_limit(settings.limits),
        middlewares=[request_telemetry],
    )
    registry = setup_service(app, settings, "api")
    app.add_subapp("/api", create_v1(settings, registry))
    return app
