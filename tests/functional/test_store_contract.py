"""The store's contract, without HTTP: services/store/secrets.py on a real PostgreSQL
through an asyncpg pool, the way the api and the reaper call it."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.protocol.envelope import b64u_encode, verifier
from services.store import receipts, secrets
from services.store.errors import SecretAlreadyEnded
from services.store.vocabulary import EventKind, ReceiptState, RevealOutcome

CLAIM, UNLOCK, WRONG = b"c" * 32, b"u" * 32, b"w" * 32
ACCESS = secrets.Access("192.0.2.0/24", "contract-test")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
    yield pool
    await pool.close()


async def store(
    pool: asyncpg.Pool, *, max_views: int = 1, max_attempts: int = 5, passphrase: bool = False
) -> str:
    new = secrets.NewSecret(
        id=b64u_encode(os.urandom(16)),
        ciphertext=b"x" * 64,
        claim_verifier=verifier(CLAIM),
        unlock_verifier=verifier(UNLOCK) if passphrase else None,
        manage_verifier=verifier(CLAIM),
        label=None,
        max_views=max_views,
        max_attempts=max_attempts,
        expires_in=600,
    )
    await secrets.create_secret(pool, new, ACCESS)
    return new.id


async def events_of(db: asyncpg.Connection, secret_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT event FROM access_events WHERE secret_id = $1 ORDER BY seq", secret_id
    )
    return [row["event"] for row in rows]


async def test_concurrent_reveals_spend_exactly_max_views(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    max_views, racers = 3, 40
    secret_id = await store(pool, max_views=max_views)
    results = await asyncio.gather(
        *(secrets.reveal(pool, secret_id, CLAIM, None, ACCESS) for _ in range(racers))
    )
    revealed = [r for r in results if isinstance(r, secrets.Revealed)]
    assert len(revealed) == max_views
    assert sorted(r.views_left for r in revealed) == list(range(max_views))
    assert {r.ciphertext for r in revealed} == {b"x" * 64}
    assert Counter(r.outcome for r in results) == {
        RevealOutcome.REVEALED: max_views,
        RevealOutcome.NOT_FOUND: racers - max_views,
    }
    receipt = await db.fetchrow("SELECT state, views FROM receipts WHERE id = $1", secret_id)
    assert tuple(receipt) == (ReceiptState.SPENT, max_views)
    assert await events_of(db, secret_id) == [EventKind.CREATED] + [EventKind.VIEWED] * max_views
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0


async def test_wrong_passphrases_count_down_and_the_last_one_burns(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    secret_id = await store(pool, max_attempts=3, passphrase=True)
    asked = await secrets.reveal(pool, secret_id, CLAIM, None, ACCESS)
    assert asked == secrets.Refused(RevealOutcome.PASSPHRASE_REQUIRED, 3)  # spends nothing
    answers = [await secrets.reveal(pool, secret_id, CLAIM, WRONG, ACCESS) for _ in range(3)]
    assert answers == [secrets.Refused(RevealOutcome.WRONG_PASSPHRASE, n) for n in (2, 1, 0)]
    # Burned: even the right passphrase finds nothing now.
    after = await secrets.reveal(pool, secret_id, CLAIM, UNLOCK, ACCESS)
    assert after == secrets.Refused(RevealOutcome.NOT_FOUND)
    receipt = await db.fetchrow(
        "SELECT state, failed_attempts, views, ended_at IS NOT NULL AS ended"
        " FROM receipts WHERE id = $1",
        secret_id,
    )
    assert tuple(receipt) == (ReceiptState.BURNED, 3, 0, True)
    assert await events_of(db, secret_id) == [
        EventKind.CREATED,
        *[EventKind.WRONG_PASSPHRASE] * 3,
        EventKind.BURNED,
    ]
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", secret_id) == 0


async def test_a_right_passphrase_after_wrong_ones_reveals(pool: asyncpg.Pool) -> None:
    secret_id = await store(pool, max_attempts=3, passphrase=True)
    assert await secrets.reveal(pool, secret_id, CLAIM, WRONG, ACCESS) == secrets.Refused(
        RevealOutcome.WRONG_PASSPHRASE, 2
    )
    result = await secrets.reveal(pool, secret_id, CLAIM, UNLOCK, ACCESS)
    assert isinstance(result, secrets.Revealed) and result.views_left == 0


async def test_revoke_and_reveal_racing_never_deadlock_and_end_once(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """Revoke locks secrets then receipts, as the reveal does; 50 races, each ending
    the secret exactly once, with the reaper's batch statement running alongside."""
    ids = [await store(pool) for _ in range(50)]

    async def race(secret_id: str) -> tuple[object, object]:
        async def revoke() -> object:
            try:
                await receipts.revoke(pool, secret_id, CLAIM, ACCESS)
            except SecretAlreadyEnded as ended:
                return ended.state
            return ReceiptState.REVOKED

        reveal = secrets.reveal(pool, secret_id, CLAIM, None, ACCESS)
        revealed, revoked = await asyncio.gather(reveal, revoke())
        return revealed, revoked

    async def reap() -> None:
        for _ in range(20):
            await secrets.reap_expired(pool, 100)

    reaper = asyncio.create_task(reap())
    outcomes = await asyncio.gather(*(race(secret_id) for secret_id in ids))
    await reaper
    for revealed, revoked in outcomes:
        if isinstance(revealed, secrets.Revealed):
            assert revoked == ReceiptState.SPENT
        else:
            assert revealed == secrets.Refused(RevealOutcome.NOT_FOUND)
            assert revoked == ReceiptState.REVOKED
    states = Counter(
        row["state"] for row in await db.fetch("SELECT state FROM receipts WHERE id = ANY($1)", ids)
    )
    assert sum(states.values()) == 50 and set(states) <= {ReceiptState.SPENT, ReceiptState.REVOKED}
    ended = await db.fetchval(
        "SELECT count(*) FROM access_events WHERE secret_id = ANY($1) AND event <> 'created'", ids
    )
    assert ended == 50  # one viewed or one revoked event per secret, never both
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = ANY($1)", ids) == 0


async def test_reap_deletes_expired_secrets_marks_receipts_and_writes_events(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    expired = [await store(pool) for _ in range(5)]
    live = await store(pool)
    spent = await store(pool)
    assert isinstance(await secrets.reveal(pool, spent, CLAIM, None, ACCESS), secrets.Revealed)
    for table in ("secrets", "receipts"):  # both hold the secret's expiry
        await db.execute(
            f"UPDATE {table} SET expires_at = now() - interval '1 s' WHERE id = ANY($1)",  # noqa: S608
            expired,
        )
    # Expired but not reaped yet: already unrevealable, and read as expired.
    assert await secrets.reveal(pool, expired[0], CLAIM, None, ACCESS) == secrets.Refused(
        RevealOutcome.NOT_FOUND
    )
    assert (await receipts.read_receipt(pool, expired[0], CLAIM)).state == ReceiptState.EXPIRED

    first, second, third = (
        await secrets.reap_expired(pool, 3),
        await secrets.reap_expired(pool, 3),
        await secrets.reap_expired(pool, 3),
    )
    assert (len(first), len(second), third) == (3, 2, [])
    assert sorted(first + second) == sorted(expired)
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = ANY($1)", expired) == 0
    rows = await db.fetch(
        "SELECT id, state, ended_at IS NOT NULL AS ended FROM receipts WHERE id = ANY($1)",
        [*expired, live, spent],
    )
    states = {row["id"]: (row["state"], row["ended"]) for row in rows}
    assert states == {
        **dict.fromkeys(expired, (ReceiptState.EXPIRED, True)),
        live: (ReceiptState.ACTIVE, False),
        spent: (ReceiptState.SPENT, True),
    }
    for secret_id in expired:
        assert await events_of(db, secret_id) == [EventKind.CREATED, EventKind.EXPIRED]
    assert await events_of(db, spent) == [EventKind.CREATED, EventKind.VIEWED]
    assert (await secrets.reaper_backlog(pool)).secrets == 0
