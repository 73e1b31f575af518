"""The store's contract for protocol v2 contents in segments, without HTTP:
services/store/contents.py on a real PostgreSQL through an asyncpg pool."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.protocol.content import UPLOAD_WINDOW
from services.protocol.envelope import b64u_encode, verifier
from services.store import contents, receipts, secrets
from services.store.errors import (
    GrantNotFound,
    InvalidDeclaration,
    SecretNotFound,
    SenderQuotaFull,
    StorageFull,
)
from services.store.vocabulary import (
    ContentState,
    EventKind,
    ReceiptState,
    RevealOutcome,
    UploadOutcome,
)
from services.worker.reaper import reap_once
from tests.support.services import make_settings

CLAIM, UNLOCK, WRONG = b"c" * 32, b"u" * 32, b"w" * 32
UPLOAD = b"t" * 32
ACCESS = secrets.Access("192.0.2.0/24", "contents-test")
SIZE, TAG = 1024, 16  # a small segment size keeps the tests' contents small
WRAPPED = b"k" * 61
NOT_FOUND = contents.UploadProgress(UploadOutcome.NOT_FOUND)


def sealed(count: int, last_plaintext: int = 100) -> list[bytes]:
    """Stand-ins for sealed segments: random, of the sizes the declaration implies."""
    return [os.urandom(SIZE + TAG) for _ in range(count - 1)] + [os.urandom(last_plaintext + TAG)]


def declared(segments: list[bytes], **overrides: object) -> contents.NewContent:
    fields: dict[str, object] = {
        "segment_size": SIZE,
        "segment_count": len(segments),
        "sealed_bytes": sum(map(len, segments)),
        "first_segment": segments[0],
        "upload_verifier": verifier(UPLOAD) if len(segments) > 1 else None,
        "upload_expires_in": 600,
        **overrides,
    }
    return contents.NewContent(**fields)  # type: ignore[arg-type]


def new_link(
    *, max_views: int = 1, passphrase: bool = False, may_delete: bool = False
) -> contents.NewLink:
    return contents.NewLink(
        id=b64u_encode(os.urandom(16)),
        wrapped_key=WRAPPED,
        claim_verifier=verifier(CLAIM),
        unlock_verifier=verifier(UNLOCK) if passphrase else None,
        manage_verifier=verifier(CLAIM),
        label=None,
        max_views=max_views,
        max_attempts=3,
        expires_in=600,
        recipient_may_delete=may_delete,
    )


def grant() -> tuple[bytes, bytes]:
    """A download grant's token and its verifier, as the api makes them."""
    token = os.urandom(32)
    return token, hashlib.sha256(token).digest()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
    yield pool
    await pool.close()


async def create(
    pool: asyncpg.Pool, segments: list[bytes], link: contents.NewLink | None = None
) -> str:
    link = link or new_link()
    await contents.create_content(pool, declared(segments), link, ACCESS)
    return link.id


async def upload(pool: asyncpg.Pool, content_id: str, segments: list[bytes]) -> None:
    for index, data in enumerate(segments[1:], start=1):
        put = await contents.put_segment(pool, content_id, UPLOAD, index, data)
        assert put == contents.UploadProgress(UploadOutcome.STORED, index + 1)
    assert await contents.finalize(pool, content_id, UPLOAD) == contents.UploadProgress(
        UploadOutcome.LIVE, len(segments)
    )


async def held(db: asyncpg.Connection, content_id: str) -> tuple[int, int, int]:
    """The rows a content has: itself, its segments, its grants."""
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM contents WHERE id = $1),"
        " (SELECT count(*) FROM segments WHERE content_id = $1),"
        " (SELECT count(*) FROM download_grants WHERE content_id = $1)",
        content_id,
    )
    return tuple(row)


async def events_of(db: asyncpg.Connection, secret_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT event FROM access_events WHERE secret_id = $1 ORDER BY seq", secret_id
    )
    return [row["event"] for row in rows]


async def reveal(pool: asyncpg.Pool, secret_id: str, unlock: bytes | None = None) -> object:
    return await contents.reveal(pool, secret_id, CLAIM, unlock, ACCESS, grant()[1], 60)


async def test_one_segment_content_is_live_at_create_and_revealed_in_one_call(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    segments = sealed(1)
    link = new_link()
    created = await contents.create_content(pool, declared(segments), link, ACCESS)
    assert created.upload_expires_at is None
    assert await db.fetchval("SELECT state FROM contents WHERE id = $1", link.id) == (
        ContentState.LIVE
    )

    revealed = await reveal(pool, link.id)
    assert revealed == contents.RevealedContent(
        WRAPPED, SIZE, 1, len(segments[0]), segments[0], None, 0, False, link.id
    )
    assert await held(db, link.id) == (0, 0, 0)  # gone with the reveal's commit
    receipt = await db.fetchrow(
        "SELECT state, ciphertext_bytes FROM receipts WHERE id = $1", link.id
    )
    assert tuple(receipt) == (ReceiptState.SPENT, len(segments[0]))
    assert await reveal(pool, link.id) == secrets.Refused(RevealOutcome.NOT_FOUND)


async def test_an_upload_resumes_takes_a_window_refuses_past_it_then_downloads_and_leaves_nothing(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    segments = sealed(10)
    content_id = await create(pool, segments)

    async def put(index: int, data: bytes | None = None) -> contents.UploadProgress:
        given = segments[index] if data is None else data
        return await contents.put_segment(pool, content_id, UPLOAD, index, given)

    def stored(received: int) -> contents.UploadProgress:
        return contents.UploadProgress(UploadOutcome.STORED, received)

    assert await put(1) == stored(2)
    assert await put(2) == stored(3)
    # The connection broke here: the sender asks where to resume.
    state = await contents.upload_state(pool, content_id, UPLOAD)
    assert state is not None and (state.received, state.segment_count) == (3, 10)
    # A retry of a stored segment is answered as before; other bytes there are not.
    assert await put(2) == stored(3)
    assert (await put(2, segments[3])).outcome is UploadOutcome.CONFLICT
    # Up to UPLOAD_WINDOW (4) past the first missing one: 3..6 are taken, 7 is not.
    assert UPLOAD_WINDOW == 4
    assert await put(7) == contents.UploadProgress(UploadOutcome.OUT_OF_ORDER, 3)
    assert await put(5) == stored(3)  # held ahead; the upload still stands at 3
    assert await put(5) == stored(3)
    assert (await put(5, segments[6])).outcome is UploadOutcome.CONFLICT
    assert (await put(3, segments[3][:-1])).outcome is UploadOutcome.WRONG_SIZE
    assert (await put(10, segments[9])).outcome is UploadOutcome.BAD_INDEX
    assert await contents.finalize(pool, content_id, UPLOAD) == contents.UploadProgress(
        UploadOutcome.INCOMPLETE, 3
    )
    assert await db.fetchval("SELECT received FROM contents WHERE id = $1", content_id) == 3

    assert await put(3) == stored(4)
    assert await put(4) == stored(6)  # 5 was there: the first missing one is 6
    assert await put(9) == stored(6)  # 6 + 4 reaches the last one
    for index in (6, 7):
        assert await put(index) == stored(index + 1)
    assert await put(8) == stored(10)
    live = contents.UploadProgress(UploadOutcome.LIVE, 10)
    assert await contents.finalize(pool, content_id, UPLOAD) == live
    assert await contents.finalize(pool, content_id, UPLOAD) == live  # a retry
    assert await put(9) == NOT_FOUND  # finalized

    token, grant_verifier = grant()
    revealed = await contents.reveal(pool, content_id, CLAIM, None, ACCESS, grant_verifier, 60)
    assert isinstance(revealed, contents.RevealedContent)
    assert (revealed.first_segment, revealed.segment_count) == (segments[0], 10)
    assert revealed.sealed_bytes == sum(map(len, segments))
    assert revealed.grant_expires_at is not None
    assert await contents.read_segment(pool, content_id, token, 2) == segments[2]
    assert [await contents.read_segment(pool, content_id, token, i) for i in range(1, 10)] == (
        segments[1:]
    )
    other = await create(pool, sealed(2))
    with pytest.raises(GrantNotFound):  # a grant opens only its own content
        await contents.read_segment(pool, other, token, 1)
    assert await held(db, content_id) == (1, 10, 1)  # the grant holds it: no link left

    await contents.complete_grant(pool, content_id, token)
    assert await held(db, content_id) == (0, 0, 0)
    with pytest.raises(GrantNotFound):
        await contents.read_segment(pool, content_id, token, 1)


async def test_the_release_before_still_puts_one_segment_at_a_time(pool: asyncpg.Pool) -> None:
    """burnafter_put_segment_v1, which a pod of the release before calls through a
    rolling deploy, keeps its window of one."""
    segments = sealed(4)
    content_id = await create(pool, segments)
    put_v1 = "SELECT outcome, received FROM burnafter_put_segment_v1($1, $2, $3, $4)"
    token = verifier(UPLOAD)
    assert tuple(await pool.fetchrow(put_v1, content_id, token, 2, segments[2])) == (
        "out_of_order",
        1,
    )
    assert tuple(await pool.fetchrow(put_v1, content_id, token, 1, segments[1])) == ("stored", 2)


async def test_a_content_is_not_found_before_finalize_and_nothing_is_spent(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    segments = sealed(2)
    content_id = await create(pool, segments, new_link(passphrase=True))
    assert await reveal(pool, content_id, UNLOCK) == secrets.Refused(RevealOutcome.NOT_FOUND)
    assert await reveal(pool, content_id, WRONG) == secrets.Refused(RevealOutcome.NOT_FOUND)
    with pytest.raises(SecretNotFound):
        await secrets.peek(pool, content_id, CLAIM)
    row = await db.fetchrow(
        "SELECT views_left, attempts_left FROM secrets WHERE id = $1", content_id
    )
    assert tuple(row) == (1, 3)
    assert await events_of(db, content_id) == [EventKind.CREATED]

    await upload(pool, content_id, segments)
    assert (await secrets.peek(pool, content_id, CLAIM)).views_left == 1
    assert isinstance(await reveal(pool, content_id, UNLOCK), contents.RevealedContent)


async def test_racing_reveals_of_a_one_view_content_make_exactly_one_grant(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    segments = sealed(3)
    content_id = await create(pool, segments)
    await upload(pool, content_id, segments)
    grants = [grant() for _ in range(200)]
    results = await asyncio.gather(
        *(
            contents.reveal(pool, content_id, CLAIM, None, ACCESS, grant_verifier, 60)
            for _, grant_verifier in grants
        )
    )
    assert Counter(r.outcome for r in results) == {
        RevealOutcome.REVEALED: 1,
        RevealOutcome.NOT_FOUND: 199,
    }
    winner = next(n for n, r in enumerate(results) if isinstance(r, contents.RevealedContent))
    stored = await db.fetch(
        "SELECT verifier FROM download_grants WHERE content_id = $1", content_id
    )
    assert [row["verifier"] for row in stored] == [grants[winner][1]]
    assert await events_of(db, content_id) == [EventKind.CREATED, EventKind.VIEWED]
    won = grants[winner][0]
    assert [await contents.read_segment(pool, content_id, won, i) for i in (1, 2)] == segments[1:]


async def test_a_grant_serves_nothing_once_completed_or_expired(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    segments = sealed(2)
    content_id = await create(pool, segments, new_link(max_views=2))
    await upload(pool, content_id, segments)
    first, first_verifier = grant()
    await contents.reveal(pool, content_id, CLAIM, None, ACCESS, first_verifier, 60)
    await contents.complete_grant(pool, content_id, first)
    with pytest.raises(GrantNotFound):
        await contents.read_segment(pool, content_id, first, 1)
    with pytest.raises(GrantNotFound):
        await contents.complete_grant(pool, content_id, first)
    assert await held(db, content_id) == (1, 2, 1)  # its link has a view left

    second, second_verifier = grant()
    await contents.reveal(pool, content_id, CLAIM, None, ACCESS, second_verifier, 60)
    assert await contents.read_segment(pool, content_id, second, 1) == segments[1]
    await db.execute(
        "UPDATE download_grants SET expires_at = now() - interval '1 s' WHERE verifier = $1",
        second_verifier,
    )
    with pytest.raises(GrantNotFound):
        await contents.read_segment(pool, content_id, second, 1)
    with pytest.raises(GrantNotFound):
        await contents.complete_grant(pool, content_id, second)
    # No link and no open grant: the reaper's sweep deletes what time let go.
    assert await held(db, content_id) == (1, 2, 2)
    assert await contents.release_unheld(pool, 10) == [content_id]
    assert await contents.purge_released(pool) == [content_id, content_id]
    assert await contents.drop_emptied(pool) == [content_id]
    assert await held(db, content_id) == (0, 0, 0)


async def test_every_end_of_the_link_deletes_its_content_unless_a_grant_is_open(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    revoked = await create(pool, sealed(1))
    await receipts.revoke(pool, revoked, CLAIM, ACCESS)
    deleted = await create(pool, sealed(1), new_link(max_views=3, may_delete=True))
    assert await secrets.delete_by_recipient(pool, deleted, CLAIM, None, ACCESS) is None
    burned = await create(pool, sealed(1), new_link(passphrase=True))
    for _ in range(3):
        await reveal(pool, burned, WRONG)
    for content_id in (revoked, deleted, burned):
        assert await held(db, content_id) == (0, 0, 0)
    states = await db.fetch(
        "SELECT state FROM receipts WHERE id = ANY($1) ORDER BY state", [revoked, deleted, burned]
    )
    assert [row["state"] for row in states] == ["burned", "deleted", "revoked"]

    # Revoked while a grant is open: the download finishes, then the content goes.
    segments = sealed(2)
    content_id = await create(pool, segments, new_link(max_views=2))
    await upload(pool, content_id, segments)
    token, grant_verifier = grant()
    await contents.reveal(pool, content_id, CLAIM, None, ACCESS, grant_verifier, 60)
    await receipts.revoke(pool, content_id, CLAIM, ACCESS)
    assert await contents.read_segment(pool, content_id, token, 1) == segments[1]
    await contents.complete_grant(pool, content_id, token)
    assert await held(db, content_id) == (0, 0, 0)


async def test_v1_callers_never_find_a_v2_link_and_spend_nothing(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    content_id = await create(pool, sealed(1))
    refused = secrets.Refused(RevealOutcome.NOT_FOUND)
    assert await secrets.reveal(pool, content_id, CLAIM, None, ACCESS) == refused
    v3 = await db.fetchrow(
        "SELECT * FROM burnafter_reveal_v3($1, $2, NULL, NULL, NULL, 'reveal')",
        content_id,
        verifier(CLAIM),
    )
    assert (v3["outcome"], v3["ciphertext"]) == ("not_found", None)
    assert await db.fetchval("SELECT views_left FROM secrets WHERE id = $1", content_id) == 1
    assert await held(db, content_id) == (1, 1, 0)


async def test_concurrent_puts_of_one_index_store_one_of_them(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    segments = sealed(3)
    content_id = await create(pool, segments)
    rivals = [os.urandom(SIZE + TAG) for _ in range(20)]
    answers = await asyncio.gather(
        *(contents.put_segment(pool, content_id, UPLOAD, 1, data) for data in rivals)
    )
    assert Counter(a.outcome for a in answers) == {
        UploadOutcome.STORED: 1,
        UploadOutcome.CONFLICT: 19,
    }
    winner = rivals[next(n for n, a in enumerate(answers) if a.outcome is UploadOutcome.STORED)]
    stored = await db.fetch(
        "SELECT data FROM segments WHERE content_id = $1 ORDER BY 1", content_id
    )
    assert sorted(row["data"] for row in stored) == sorted([segments[0], winner])
    assert await db.fetchval("SELECT received FROM contents WHERE id = $1", content_id) == 2


async def test_a_wrong_upload_token_and_an_unknown_id_get_the_same_answer(
    pool: asyncpg.Pool,
) -> None:
    segments = sealed(2)
    content_id = await create(pool, segments)
    unknown = b64u_encode(os.urandom(16))
    for target, token in ((content_id, WRONG), (unknown, UPLOAD), (unknown, WRONG)):
        assert await contents.put_segment(pool, target, token, 1, segments[1]) == NOT_FOUND
        assert await contents.finalize(pool, target, token) == NOT_FOUND
        assert await contents.upload_state(pool, target, token) is None
    assert (await contents.upload_state(pool, content_id, UPLOAD)) is not None


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"sealed_bytes": 2 * (SIZE + TAG) + 1}, id="sizes-that-do-not-add-up"),
        pytest.param({"sealed_bytes": SIZE + TAG + TAG}, id="an-empty-last-segment"),
        pytest.param({"segment_count": 1}, id="one-segment-of-the-wrong-size"),
        pytest.param({"first_segment": b"x" * 17}, id="segment-0-of-the-wrong-size"),
        pytest.param({"segment_size": 0}, id="no-segment-size"),
        pytest.param({"upload_verifier": None}, id="no-upload-token"),
    ],
)
async def test_a_declaration_that_does_not_add_up_is_refused_and_reserves_nothing(
    pool: asyncpg.Pool, db: asyncpg.Connection, overrides: dict[str, object]
) -> None:
    segments = sealed(2)
    with pytest.raises(InvalidDeclaration):
        await contents.create_content(
            pool,
            declared(segments, **overrides),
            new_link(),
            ACCESS,
            secrets.StorageLimits(cap=10**6),
        )
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0
    assert await db.fetchval("SELECT bytes FROM storage_usage WHERE scope = 'all'") == 0


async def test_the_cap_and_the_quota_hold_on_the_declared_size_before_any_upload(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    big = sealed(8)  # 8 * 1 KiB declared, one segment sent
    limits = secrets.StorageLimits(cap=10 * (SIZE + TAG), quota=9 * (SIZE + TAG))
    await contents.create_content(pool, declared(big), new_link(), ACCESS, limits, "alice")
    with pytest.raises(SenderQuotaFull):
        await contents.create_content(
            pool, declared(sealed(3)), new_link(), ACCESS, limits, "alice"
        )
    with pytest.raises(StorageFull):
        await contents.create_content(pool, declared(sealed(4)), new_link(), ACCESS, limits, "bob")
    await contents.create_content(pool, declared(sealed(1)), new_link(), ACCESS, limits, "bob")
    usage = dict(await db.fetch("SELECT scope, bytes FROM storage_usage"))
    assert usage == {
        "all": sum(map(len, big)) + 100 + TAG,
        "alice": sum(map(len, big)),
        "bob": 100 + TAG,
    }
    assert await db.fetchval("SELECT count(*) FROM segments") == 2  # segment 0 of each


async def test_the_reaper_ends_an_unfinished_upload_and_gives_its_bytes_back(
    pool: asyncpg.Pool, db: asyncpg.Connection, database_url: str
) -> None:
    segments = sealed(3)
    limits = secrets.StorageLimits(cap=10**6)
    link = new_link()
    await contents.create_content(pool, declared(segments), link, ACCESS, limits)
    finished = await create(pool, segments)
    await upload(pool, finished, segments)
    await contents.put_segment(pool, link.id, UPLOAD, 1, segments[1])
    assert await secrets.recount_storage(pool) == 2 * sum(map(len, segments))
    await db.execute(
        "UPDATE contents SET upload_expires_at = now() - interval '1 s' WHERE id = ANY($1)",
        [link.id, finished],  # a live content's upload time no longer matters
    )
    assert await contents.put_segment(pool, link.id, UPLOAD, 2, segments[2]) == NOT_FOUND

    result = await reap_once(pool, make_settings(database_url))
    assert result.expired == 1
    assert await held(db, link.id) == (0, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", link.id) == 0
    receipt = await db.fetchrow("SELECT state, ended_at FROM receipts WHERE id = $1", link.id)
    assert receipt["state"] == ReceiptState.EXPIRED and receipt["ended_at"] is not None
    assert await events_of(db, link.id) == [EventKind.CREATED, EventKind.EXPIRED]
    assert await held(db, finished) == (1, 3, 0)
    assert await db.fetchval("SELECT bytes FROM storage_usage WHERE scope = 'all'") == sum(
        map(len, segments)
    )


async def test_a_large_content_is_released_at_once_and_its_segments_go_in_batches(
    pool: asyncpg.Pool, db: asyncpg.Connection, database_url: str
) -> None:
    """Over 16 segments, the request that ends the last hold does not wait for the
    deletion of them all: the content is released (nothing reads it any more) and
    the reaper deletes its segments a batch at a time."""
    segments = sealed(contents.SEGMENTS_PER_STATEMENT + 30)
    content_id = await create(pool, segments)
    await upload(pool, content_id, segments)
    token, grant_verifier = grant()
    await contents.reveal(pool, content_id, CLAIM, None, ACCESS, grant_verifier, 60)
    await contents.complete_grant(pool, content_id, token)
    state = await db.fetchval("SELECT state FROM contents WHERE id = $1", content_id)
    assert state == "released"
    assert await held(db, content_id) == (1, len(segments), 1)
    with pytest.raises(GrantNotFound):
        await contents.read_segment(pool, content_id, token, 1)
    first = await contents.purge_released(pool)
    assert len(first) == contents.SEGMENTS_PER_STATEMENT  # one short statement
    await reap_once(pool, make_settings(database_url))
    assert await held(db, content_id) == (0, 0, 0)
