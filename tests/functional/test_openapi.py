"""The OpenAPI document matches the live routes, and live answers match the document."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
from jsonschema.validators import Draft202012Validator
from prometheus_client import CollectorRegistry

from services.api.app import create_v1
from services.server.settings import Settings
from tests.support.fixtures_types import ApiClient
from tests.support.sealing import make_secret, secret_passphrase

DOCUMENT: dict[str, Any] = json.loads(
    (resources.files("services.api") / "openapi.json").read_text("utf-8")
)


def test_document_is_valid_openapi_3_1_shape() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_live_route_is_documented_and_every_documented_route_is_live(
    settings: Settings,
) -> None:
    live = set()
    for route in create_v1(settings, CollectorRegistry()).router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        live.add((route.resource.canonical, route.method.lower()))
    documented = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item}
    assert live == documented


def validate(body: Any, path: str, method: str, status: int, content_type: str) -> None:
    operation = DOCUMENT["paths"][path][method]
    response = operation["responses"][str(status)]
    schema = response["content"][content_type]["schema"]
    resolver_doc = {**schema, "components": DOCUMENT["components"]}
    jsonschema.validate(body, resolver_doc, cls=Draft202012Validator)


@pytest.mark.parametrize("with_passphrase", [False, True])
async def test_live_answers_match_the_document(api: ApiClient, with_passphrase: bool) -> None:
    passphrase = secret_passphrase() if with_passphrase else None
    secret = make_secret(passphrase=passphrase, label="openapi doc label", max_views=2)
    calls = []

    async def call(method: str, doc_path: str, url: str, **kwargs: Any) -> Any:
        response = await api.request(method.upper(), url, **kwargs)
        body = None if response.status == 204 else await response.json(content_type=None)
        calls.append((body, doc_path, method, response.status, response.content_type))
        return body

    await call("get", "/v1/limits", "/api/v1/limits")
    created = await call("post", "/v1/secrets", "/api/v1/secrets", json=secret.body)
    sid = created["id"]
    await call("post", "/v1/secrets", "/api/v1/secrets", json={"nope": 1})
    await call(
        "post", "/v1/secrets/{id}/peek", f"/api/v1/secrets/{sid}/peek", json=secret.claim_body()
    )
    await call(
        "post", "/v1/secrets/{id}/peek", f"/api/v1/secrets/{sid}/peek", json={"claim": "A" * 43}
    )
    if passphrase:
        wrong = secret.reveal_body(passphrase="wrong")
        await call("post", "/v1/secrets/{id}/reveal", f"/api/v1/secrets/{sid}/reveal", json=wrong)
        await call(
            "post",
            "/v1/secrets/{id}/reveal",
            f"/api/v1/secrets/{sid}/reveal",
            json=secret.claim_body(),
        )
    await call(
        "post",
        "/v1/secrets/{id}/reveal",
        f"/api/v1/secrets/{sid}/reveal",
        json=secret.reveal_body(),
    )
    await call("get", "/v1/receipts/{id}", f"/api/v1/receipts/{sid}", headers=secret.bearer)
    await call("get", "/v1/receipts/{id}", f"/api/v1/receipts/{sid}")
    await call("delete", "/v1/secrets/{id}", f"/api/v1/secrets/{sid}", headers=secret.bearer)
    await call("delete", "/v1/secrets/{id}", f"/api/v1/secrets/{sid}", headers=secret.bearer)
    await call("get", "/v1/openapi.json", "/api/v1/openapi.json")

    statuses = [c[3] for c in calls]
    assert statuses.count(409) == 1 and 204 in statuses and 401 in statuses
    for body, path, method, status, content_type in calls:
        if status != 204:
            validate(body, path, method, status, content_type)
