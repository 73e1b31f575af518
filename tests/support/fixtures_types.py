"""Types of the fixtures the tests share, for their annotations.

pytest hands fixtures over by name, untyped; these aliases and Protocols say what
each one is, so that ``mypy --strict`` checks the tests that use them."""

from __future__ import annotations

from typing import Literal, Protocol, TypeAlias, TypedDict, Unpack, overload

from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import BrowserContext
from pytest_aiohttp import AiohttpClient, AiohttpRawServer, AiohttpServer

from services.server.settings import Settings
from tests.support.browser import RequestLog
from tests.support.services import ServiceProcess

__all__ = [
    "AiohttpClient",
    "AiohttpRawServer",
    "AiohttpServer",
    "ApiClient",
    "ClientWith",
    "ContextOptions",
    "Dispatch",
    "NewContext",
    "StartService",
]

ApiClient: TypeAlias = TestClient[web.Request, web.Application]
"""The ``api`` fixture, and every other in-process app reached through ``aiohttp_client``."""


class StartService(Protocol):
    """The ``start_service`` fixture: start ``burnafter ROLE`` as a real process, with
    extra environment variables: ``start_service("api", url, port=8080, DB_TIMEOUT="2")``.

    Two overloads, so that a test may pass its environment as ``**env`` (a
    ``dict[str, str]``) without a ``port``: with one signature mypy would take that dict
    for a possible ``port``. The fixture's function (one signature, ``port`` defaulting
    to None) is cast to this type, as mypy does not match it to the overloads."""

    @overload
    def __call__(self, role: str, database_url: str, **env: str) -> ServiceProcess: ...

    @overload
    def __call__(
        self, role: str, database_url: str, *, port: int | None, **env: str
    ) -> ServiceProcess: ...


class ClientWith(Protocol):
    """A fixture that makes an in-process app with extra settings (environment
    variables), and a client for it: ``await api_with(RATE_LIMIT_CREATE="3")``."""

    async def __call__(self, **env: str) -> ApiClient: ...


class Dispatch(Protocol):
    """The ``dispatch`` fixture of the webhook tests: run dispatcher rounds (several
    dispatchers at once, if asked) until nothing is due, or only one round when
    ``once``; return how many rows they claimed."""

    async def __call__(
        self, settings: Settings, dispatchers: int = 1, once: bool = False
    ) -> int: ...


class ContextOptions(TypedDict, total=False):
    """The options of ``Browser.new_context`` that the browser tests use."""

    accept_downloads: bool
    bypass_csp: bool
    color_scheme: Literal["dark", "light", "no-preference", "null"]
    extra_http_headers: dict[str, str]
    java_script_enabled: bool
    locale: str


class NewContext(Protocol):
    """The ``new_context`` fixture of the browser tests: a fresh browser profile, and
    the log of every request it sent."""

    async def __call__(
        self, **options: Unpack[ContextOptions]
    ) -> tuple[BrowserContext, RequestLog]: ...
