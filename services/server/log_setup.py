"""structlog, set up once per process: JSON lines in production, a readable console
in development, on standard error.

burnafter's own loggers are structlog's native ones: a filtered-out level costs a
no-op call, and a line is rendered once and written straight to the stream, with
no trip through the standard library's ``logging`` (a quarter of an api request's
time when it did; docs/performance.md). The standard library's loggers (aiohttp,
asyncpg) still go through ``logging``, rendered by the same processors."""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from functools import partial
from typing import Any, TextIO

import orjson
import structlog

from services.server.settings import LogFormat


class _NamedWriter(structlog.WriteLogger):
    """A line writer that knows its logger's name."""

    def __init__(self, stream: TextIO, name: str) -> None:
        super().__init__(stream)
        self.name = name


def _named_writer(stream: TextIO, *args: Any) -> _NamedWriter:
    return _NamedWriter(stream, args[0] if args else "burnafter")


class MalformedRequests(logging.Filter):
    """aiohttp's own server log: a malformed request is an ERROR with the peer's full
    address and a traceback whose message quotes the raw request line, which can
    hold a secret id; anyone can send one as often as they like. Keep the fact and
    drop the rest: a WARNING naming the error type only, at most ``per_minute``
    lines a minute (the rest are counted into the next line that gets through)."""

    def __init__(self, per_minute: int = 60) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.window = -1
        self.passed = 0
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        window = int(time.monotonic() // 60)
        if window != self.window:
            self.window, self.passed = window, 0
        if self.passed >= self.per_minute:
            self.dropped += 1
            return False
        self.passed += 1
        error = type(record.exc_info[1]).__name__ if record.exc_info else "unknown"
        record.msg = f"malformed_request error={error} dropped_before={self.dropped}"
        record.args, record.exc_info, record.exc_text = (), None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        self.dropped = 0
        return True


# The request being answered, on every line logged while it is (set by the
# services/server/middlewares.py's request_telemetry). One variable of our own:
# structlog's contextvars copy and walk the whole context on every line.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(
    _logger: Any, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _json_line(event: dict[str, Any], **options: Any) -> str:
    """A line as orjson writes it: a third of the time of the standard library's
    encoder, on every request (docs/performance.md)."""
    return orjson.dumps(event, **options).decode()


def configure_logging(
    log_format: LogFormat, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Every line to ``stream`` (standard error unless given)."""
    stream = sys.stderr if stream is None else stream
    shared: list[structlog.types.Processor] = [
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(_json_line)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        logger_factory=partial(_named_writer, stream),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log prints raw paths, which hold secret ids; the services
    # log the route template instead.
    logging.getLogger("aiohttp.access").disabled = True
    # Errors inside handlers never reach aiohttp (the middlewares answer them); what
    # it still logs is requests it could not parse.
    server_log = logging.getLogger("aiohttp.server")
    server_log.filters[:] = [MalformedRequests()]
