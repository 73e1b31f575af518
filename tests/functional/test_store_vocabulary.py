"""The words of services/store/vocabulary.py are the database's and the API's: the
CHECK constraints hold exactly the enums' values, the outbox trigger writes exactly
the v1 webhook names, and the OpenAPI document lists exactly the v1 words."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import asyncpg

from services.store.vocabulary import (
    WEBHOOK_EVENTS,
    WEBHOOK_NAMES,
    EventKind,
    ReceiptState,
    parse_event,
)


async def check_values(db: asyncpg.Connection, constraint: str) -> set[str]:
    definition = await db.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", constraint
    )
    return set(re.findall(r"'([^']*)'::text", definition))


async def test_check_constraints_hold_exactly_the_enums(db: asyncpg.Connection) -> None:
    assert await check_values(db, "receipts_state_check") == set(ReceiptState)
    assert await check_values(db, "access_events_event_check") == set(EventKind)


async def test_the_outbox_trigger_writes_the_v1_webhook_names(db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO receipts (id, manage_verifier, max_views, max_attempts, passphrase,"
        " ciphertext_bytes, expires_at, notify)"
        " VALUES ('W', ''::bytea, 1, 1, false, 1, now(), ARRAY['ops'])"
    )
    await db.execute(
        "INSERT INTO access_events (secret_id, event) SELECT 'W', unnest($1::text[])",
        list(EventKind),
    )
    written = {row["event"] for row in await db.fetch("SELECT event FROM webhook_deliveries")}
    assert written == set(WEBHOOK_EVENTS.values())


def openapi_enum(document: dict[str, Any], *path: str) -> set[str]:
    node: Any = document["components"]["schemas"]
    for key in path:
        node = node[key]
    return set(node["enum"])


def test_the_openapi_document_lists_the_v1_words() -> None:
    text = (resources.files("services.api") / "openapi.json").read_text("utf-8")
    document = json.loads(text)
    assert openapi_enum(document, "State") == {state.v1() for state in ReceiptState}
    event = ("AccessEvent", "properties", "event")
    assert openapi_enum(document, *event) == {kind.v1() for kind in EventKind}
    notification = ("Notification", "properties", "event")
    assert openapi_enum(document, *notification) == WEBHOOK_NAMES


def test_every_word_and_every_v1_name_parses_to_its_event() -> None:
    for kind in EventKind:
        assert parse_event(kind.value) is kind
        assert parse_event(kind.v1()) is kind
    assert parse_event("spent") is None  # a state, not an event
