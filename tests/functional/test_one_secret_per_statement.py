"""Every statement of the hot path addresses its rows by their key: growing past one
primary by distributing the tables by a secret's id (Citus) needs no change to them.

The store's functions run as the api calls them (create, peek, reveal, receipt,
revoke; a content's create, segment upload, finalize, reveal, segment read and
end of download), on a connection where ``auto_explain`` sends the plan of every
statement, those inside the SQL functions, triggers and foreign-key checks included,
to the client. Sequential scans are priced out (``enable_seqscan = off``), so a
statement that no key can serve still shows as one. Each scan of a table must then
find its rows by equality on that table's key: a secret's rows by the secret's id
(``secrets``, ``receipts``, ``access_events``, ``webhook_deliveries``), a content's
by the content's (``contents``, ``segments``, ``download_grants``). The storage
counters (``storage_usage``, when a cap or quota is set) are the one exception,
by design: one row for all secrets and one per sender.

A content's statements are not all there yet, and the test holds them to what they
are, so that no new one slips: a download grant is found by its token's verifier
(the content is checked in a filter), and a content's links by the content's id
(whether any still holds it). Distributed as they are, these would fan out to every
shard; docs/operations.md ("Growing past one PostgreSQL primary") has the plan."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.protocol.envelope import b64u_encode, verifier
from services.store import contents, receipts, secrets
from tests.functional.test_store_contents import UPLOAD, declared, new_link, sealed

# The listener is added anew on each acquire (asyncpg drops it on release, and warns).
pytestmark = pytest.mark.filterwarnings("ignore:.*active log listener:asyncpg.InterfaceWarning")

CLAIM = b"c" * 32
ACCESS = secrets.Access("192.0.2.0/24", "citus-test")
LIMITS = secrets.StorageLimits(cap=10**9, quota=10**8)

# The column each table's rows are found by, on the hot path.
KEYS = {
    "secrets": "id",
    "receipts": "id",
    "access_events": "secret_id",
    "webhook_deliveries": "secret_id",
    "contents": "id",
    "segments": "content_id",
    "download_grants": "content_id",
    "storage_usage": "scope",  # the counters: not a secret's row (see above)
}
# What a content's statements find rows by today, beyond KEYS (see above).
CONTENT_FAN_OUT = {"download_grants": "verifier", "secrets": "content_id"}
SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan")


def _addresses(condition: str, column: str) -> bool:
    """``column = x`` or ``x = column``, the column qualified or not."""
    name = rf"(?:\w+\.)?{column}"
    return bool(re.search(rf"(?<![\w.]){name} = |= {name}(?![\w])", condition))


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Node Type") in SCANS else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


class Plans:
    """Every plan ``auto_explain`` sent, in order."""

    def __init__(self) -> None:
        self.plans: list[dict[str, Any]] = []

    def heard(self, _conn: asyncpg.Connection, message: asyncpg.PostgresLogMessage) -> None:
        text = str(message.message)
        if "plan:" in text:
            self.plans.append(json.loads(text.partition("plan:")[2]))

    def unkeyed(self, also: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
        """(table, how it was scanned, statement) for each scan not by its key (nor by
        the column ``also`` allows it)."""
        bad = []
        for plan in self.plans:
            for scan in _scans(plan["Plan"]):
                table = scan.get("Relation Name", "")
                if table not in KEYS:
                    continue
                condition = " ".join(
                    scan.get(part, "") for part in ("Index Cond", "Recheck Cond", "Filter")
                )
                columns = [KEYS[table], *([also[table]] if also and table in also else [])]
                if not any(_addresses(condition, column) for column in columns):
                    bad.append((table, f"{scan['Node Type']}: {condition}", plan["Query Text"]))
        return bad


@pytest.fixture
async def explained(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Plans]]:
    plans = Plans()

    async def explain_everything(conn: asyncpg.Connection) -> None:
        await conn.execute("""
            LOAD 'auto_explain';
            SET auto_explain.log_min_duration = 0;
            SET auto_explain.log_nested_statements = on;
            SET auto_explain.log_format = 'json';
            SET auto_explain.log_level = 'notice';
            SET plan_cache_mode = force_generic_plan;
            SET enable_seqscan = off;
        """)  # generic plans: conditions name parameters ($1), never a verifier's bytes

    async def listen(conn: asyncpg.Connection) -> None:
        conn.add_log_listener(plans.heard)  # a release clears the listeners

    async def keep_settings(_conn: asyncpg.Connection) -> None:
        """No RESET ALL on release, which would drop the settings above."""

    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=4, init=explain_everything, setup=listen,
        reset=keep_settings,
    )  # fmt: skip
    yield pool, plans
    await pool.close()


async def test_a_secret_s_statements_find_its_rows_by_its_id(
    explained: tuple[asyncpg.Pool, Plans],
) -> None:
    pool, plans = explained
    new = secrets.NewSecret(
        id=b64u_encode(os.urandom(16)), ciphertext=os.urandom(64),
        claim_verifier=verifier(CLAIM), unlock_verifier=None, manage_verifier=verifier(CLAIM),
        label=None, max_views=2, max_attempts=5, expires_in=600, notify=("ops",),
    )  # fmt: skip
    await secrets.create_secret(pool, new, ACCESS, LIMITS, quota_key="sender")
    assert isinstance(await secrets.peek(pool, new.id, CLAIM), secrets.Peek)
    assert isinstance(await secrets.reveal(pool, new.id, CLAIM, None, ACCESS), secrets.Revealed)
    await receipts.read_receipt(pool, new.id, CLAIM)
    await receipts.revoke(pool, new.id, CLAIM, ACCESS)
    tables = {scan.get("Relation Name") for p in plans.plans for scan in _scans(p["Plan"])}
    assert {"secrets", "receipts", "access_events", "storage_usage"} <= tables
    assert plans.unkeyed() == []


async def test_a_content_s_statements_find_its_rows_by_its_id(
    explained: tuple[asyncpg.Pool, Plans],
) -> None:
    pool, plans = explained
    segments = sealed(3)
    link = new_link()
    await contents.create_content(pool, declared(segments), link, ACCESS, LIMITS, "sender")
    for index, data in enumerate(segments[1:], start=1):
        await contents.put_segment(pool, link.id, UPLOAD, index, data)
    await contents.finalize(pool, link.id, UPLOAD)
    token = os.urandom(32)
    grant = hashlib.sha256(token).digest()
    opened = await contents.reveal(pool, link.id, CLAIM, None, ACCESS, grant, 600)
    assert isinstance(opened, contents.RevealedContent)
    assert await contents.read_segment(pool, link.id, token, 1) == segments[1]
    await contents.complete_grant(pool, link.id, token)
    tables = {scan.get("Relation Name") for p in plans.plans for scan in _scans(p["Plan"])}
    assert {"contents", "segments", "download_grants"} <= tables
    assert plans.unkeyed(also=CONTENT_FAN_OUT) == []
    fanning = {table for table, _, _ in plans.unkeyed()}
    assert fanning == set(CONTENT_FAN_OUT)  # when one is fixed, drop it from the list
