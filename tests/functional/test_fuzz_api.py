"""Fuzzing every request body of a running api over real HTTP: any JSON, any bytes.
The answer is always a 4xx problem or a success, never a 5xx, and a refused
request stores nothing."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.api.requests import CREATE_FIELDS
from services.protocol.envelope import b64u_encode
from tests.support.fixtures_types import StartService
from tests.support.services import ServiceProcess

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
b64_values = st.binary(max_size=64).map(b64u_encode)
create_bodies = st.dictionaries(
    st.sampled_from(sorted(CREATE_FIELDS)) | st.text(max_size=12),
    json_values | b64_values,
    max_size=9,
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def post(url: str, data: bytes, content_type: str = "application/json") -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type()


def stored(database_url: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM secrets"))
        finally:
            await conn.close()

    return asyncio.run(count())


@pytest.fixture
def fuzz_api(database_url: str, start_service: StartService) -> ServiceProcess:
    limits_off = {
        "RATE_LIMIT_CREATE": "0",
        "RATE_LIMIT_PEEK": "0",
        "RATE_LIMIT_REVEAL": "0",
        "RATE_LIMIT_RECEIPT": "0",
    }
    return start_service("api", database_url, **limits_off)


def test_fuzzed_create_bodies_get_4xx_or_201_and_refusals_store_nothing(
    fuzz_api: ServiceProcess, database_url: str
) -> None:
    @FUZZ
    @given(create_bodies)
    def check(body: dict[str, object]) -> None:
        before = stored(database_url)
        status, content_type = post(f"{fuzz_api.url}/api/v1/secrets", json.dumps(body).encode())
        assert status in (201, 400, 413), (status, body)
        if status != 201:
            assert content_type == "application/problem+json"
            assert stored(database_url) == before

    check()


def test_fuzzed_peek_and_reveal_bodies_never_get_a_5xx(fuzz_api: ServiceProcess) -> None:
    @FUZZ
    @given(st.sampled_from(["peek", "reveal"]), st.text(max_size=30), json_values)
    def check(action: str, secret_id: str, body: object) -> None:
        path = urllib.parse.quote(secret_id, safe="") or "x"
        status, _ = post(
            f"{fuzz_api.url}/api/v1/secrets/{path}/{action}", json.dumps(body).encode()
        )
        assert status in (400, 401, 404, 405), (status, action, secret_id, body)

    check()


def test_fuzzed_raw_bytes_never_get_a_5xx(fuzz_api: ServiceProcess) -> None:
    @FUZZ
    @given(st.binary(max_size=2000), st.sampled_from(["application/json", "text/plain", ""]))
    def check(data: bytes, content_type: str) -> None:
        status, _ = post(f"{fuzz_api.url}/api/v1/secrets", data, content_type)
        assert status in (400, 415), status

    check()
