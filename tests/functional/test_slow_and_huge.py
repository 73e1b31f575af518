"""Slow clients and huge headers get a bounded, clear answer, and the server stays up."""

from __future__ import annotations

import asyncio

from tests.support.fixtures_types import ApiClient, StartService
from tests.support.sealing import make_secret


async def raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes as they are, then read the answer (the body may be cut short on purpose)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), timeout=10)
    writer.close()
    return answer


async def test_a_body_that_trickles_too_slowly_gets_408(
    database_url: str, start_service: StartService
) -> None:
    api = start_service("api", database_url, BODY_TIMEOUT="1")
    port = int(api.url.rsplit(":", 1)[1])
    head = (
        b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    answer = await raw_request(port, head, b'{"ciphertext": "')
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"application/problem+json" in answer
    assert b"did not arrive in time" in answer


async def test_huge_headers_get_a_4xx_and_the_server_stays_up(
    database_url: str, start_service: StartService, api: ApiClient
) -> None:
    server = start_service("api", database_url)
    port = int(server.url.rsplit(":", 1)[1])
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 20000 + b"\r\n\r\n"
    answer = await raw_request(port, head)
    assert answer.split(b" ")[1] in (b"400", b"431"), answer[:80]
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 500 + b"\r\n"
    answer = await raw_request(port, many)
    assert answer.split(b" ")[1][:1] in (b"2", b"4"), answer[:80]
    ok = await raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200")
    assert (await api.post("/api/v1/secrets", json=make_secret().body)).status == 201
