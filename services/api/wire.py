"""The v1 wire form of what the store returns: JSON values, and v1's published words.

A receipt goes out field by field as its dataclass holds it, so a new receipt
field is a column in the store's query and a field of ``Receipt``, and nothing here."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from services.protocol.envelope import b64u_encode
from services.store.vocabulary import EventKind, ReceiptState


def json_answer(
    data: Any, status: int = 200, content_type: str = "application/json"
) -> web.Response:
    """``data`` as a JSON answer, encoded by orjson (a quarter of the time of the
    standard library's encoder; docs/performance.md)."""
    return web.Response(
        body=orjson.dumps(data), status=status, content_type=content_type, charset="utf-8"
    )


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, as the OpenAPI document says."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def to_json(value: Any) -> Any:
    """A dataclass (and what it holds) as JSON: timestamps as text, bytes as
    base64url, states and event kinds in v1's words, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, ReceiptState | EventKind):
        return value.v1()
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, bytes):
        return b64u_encode(value)
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value
