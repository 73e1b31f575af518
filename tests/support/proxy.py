"""Proxies on loopback for the tests: a TCP proxy that breaks a connection once,
mid-stream (a flaky network between a client and the api, for the tests of resumed
transfers), one that stops delivering (the network between a primary and its
standby, for the failover tests), and a reverse proxy that keeps a request log
(what an edge in front of burnafter would see)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web

from tests.support.sign_in import skips_sign_in

Direction = Literal["up", "down"]  # client to server, server to client
Writers = tuple[asyncio.StreamWriter, asyncio.StreamWriter]  # a connection's two sides


@dataclass
class TcpProxy:
    """Forwards every connection to ``upstream_port``, chunk by chunk, both ways; a
    subclass decides in :meth:`forward` what becomes of each chunk."""

    upstream_port: int
    port: int = field(default=0, kw_only=True)  # its own, once started
    _server: asyncio.Server | None = field(default=None, kw_only=True)
    _pumps: set[asyncio.Task[None]] = field(default_factory=set, kw_only=True)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list, kw_only=True)

    async def start(self) -> str:
        """Listen; answers the proxy's base URL."""
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        server_reader, server_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        writers = (client_writer, server_writer)
        self._writers += writers
        ways: list[tuple[Direction, asyncio.StreamReader, asyncio.StreamWriter]] = [
            ("up", client_reader, server_writer),
            ("down", server_reader, client_writer),
        ]
        for direction, reader, writer in ways:
            pump = asyncio.create_task(self._pump(direction, reader, writer, writers))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(
        self,
        direction: Direction,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        both: Writers,
    ) -> None:
        try:
            while data := await reader.read(16 * 1024):
                if not await self.forward(direction, data, writer, both):
                    return
            writer.close()
        except (ConnectionError, OSError):
            for each in both:
                each.transport.abort()

    async def forward(  # the subclasses' hook: they use every argument
        self,
        direction: Direction,  # noqa: ARG002
        data: bytes,
        writer: asyncio.StreamWriter,
        both: Writers,  # noqa: ARG002
    ) -> bool:
        """Pass ``data`` on; False ends the connection's pump."""
        writer.write(data)
        await writer.drain()
        return True


@dataclass
class CuttingProxy(TcpProxy):
    """Once ``cut_after`` bytes have gone ``direction`` (counted over all
    connections), the connection that carries the next byte is aborted (a reset,
    both ways) after only part of it went through; so are the next connections that
    carry a byte that way, ``times`` in all; later ones are left alone. ``cuts``
    counts them.

    aiohttp sends an idempotent request (GET, PUT) again by itself, once, when a
    kept-alive connection breaks: ``times=2`` also breaks that second try, so the
    failure reaches the code under test."""

    direction: Direction
    cut_after: int
    times: int = 1
    cuts: int = 0
    moved: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})

    async def forward(
        self, direction: Direction, data: bytes, writer: asyncio.StreamWriter, both: Writers
    ) -> bool:
        left = self.cut_after - self.moved[direction]
        if direction == self.direction and self.cuts < self.times and len(data) > left:
            writer.write(data[: max(left, 0)])
            await writer.drain()
            self.cuts += 1
            for each in both:
                each.transport.abort()
            return False
        self.moved[direction] += len(data)
        return await super().forward(direction, data, writer, both)


@dataclass
class HoldingProxy(TcpProxy):
    """Once :meth:`hold` is called, nothing more goes down (server to client): a
    network that stopped delivering. What the server sends after that never
    arrives, even once the connection ends."""

    held: bool = False

    def hold(self) -> None:
        self.held = True

    async def forward(
        self, direction: Direction, data: bytes, writer: asyncio.StreamWriter, both: Writers
    ) -> bool:
        if direction == "down" and self.held:
            await asyncio.Event().wait()  # until the proxy closes
        return await super().forward(direction, data, writer, both)


# Headers that belong to one hop, not to the request or answer passed on.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
}


@dataclass
class RecordingProxy:
    """A reverse proxy on loopback in front of ``upstream`` (a base URL) that keeps
    every request it passes on, as a proxy's request log would: the method, the URL,
    the headers and the body. Clients that use it see one site, as behind an edge."""

    upstream: str
    requests: list[bytes] = field(default_factory=list)
    url: str = ""  # its own base URL, once started
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        """Listen; answers the proxy's base URL."""
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._pass_on)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def passed_headers(self, request: web.Request) -> dict[str, str] | None:
        """The headers passed on; None: the request is answered 401 here."""
        return {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}

    async def _pass_on(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        head = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        self.requests.append(f"{request.method} {request.url}\n{head}\n\n".encode() + body)
        headers = self.passed_headers(request)
        if headers is None:
            return web.Response(status=401, text="Sign in first.")
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as answer:
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, headers=kept, body=payload)


SIGNED_IN_COOKIE = "burnafter_test_sso"


@dataclass
class SignInProxy(RecordingProxy):
    """oauth2-proxy's part, played in front of ``upstream``: a request needs the
    sign-in cookie (its value the user) unless one of ``skip_routes`` (method, regex)
    lets it through; a signed-in request reaches burnafter with the user in
    ``X-Forwarded-Email``, and any such header a client sent is dropped."""

    skip_routes: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    def passed_headers(self, request: web.Request) -> dict[str, str] | None:
        headers = super().passed_headers(request)
        assert headers is not None
        headers = {k: v for k, v in headers.items() if k.lower() != "x-forwarded-email"}
        if skips_sign_in(self.skip_routes, request.method, request.path):
            return headers
        user = request.cookies.get(SIGNED_IN_COOKIE)
        if not user:
            return None
        return {**headers, "X-Forwarded-Email": user}
