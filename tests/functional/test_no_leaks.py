"""No log line, metrics scrape or database row holds plaintext, keys, claims, unlock
proofs, manage tokens, passphrases or labels, in raw, hex or base64; and no log line
or metric holds a raw secret id or ciphertext.

The search over everything a session (an xdist worker) registered runs at the end of
that session too (``leak_check`` in ``tests/conftest.py``); this test runs it over
what its worker saw so far, after a lifecycle of its own."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest

from tests.support.fixtures_types import ApiClient, ClientWith, StartService
from tests.support.leaks import (
    LEAK_WATCH,
    NeedleIndex,
    database_text,
    encodings,
    find_leaks,
    search_everything,
)
from tests.support.sealing import make_secret, seal_content, secret_passphrase, secret_text


def test_the_leak_detector_finds_each_form() -> None:
    needle = b"\x00\xffsecret-bytes\x10"
    for form, encoded in encodings(needle).items():
        assert f"n ({form})" in find_leaks(b"prefix " + encoded + b" suffix", {"n": needle})
    assert find_leaks(b"nothing here", {"n": needle}) == []


def test_the_index_finds_every_needle_at_every_offset_and_near_misses_not() -> None:
    needles = {
        "short": b"twelve bytes",
        "key": bytes(range(32)),
        "label": b"a label of some length",
        "tiny": b"abc",  # shorter than the index's window: searched for on its own
    }
    index = NeedleIndex(needles)
    for name, needle in needles.items():
        for form, encoded in encodings(needle).items():
            for pad in range(2 * index.stride + 2):
                haystack = b"x" * pad + encoded + b"y" * pad
                assert f"{name} ({form})" in index.scan(haystack), (name, form, pad)
            assert index.scan(encoded[:-1]) == [] or name == "tiny"
    assert index.scan(b"twelve byteS" + b"a label of some lengtH") == []
    both = index.scan(b"..twelve bytes.." + bytes(range(32)).hex().upper().encode())
    assert both == ["key (HEX)", "short (raw)"]


async def test_the_database_search_reads_every_table_from_the_catalog(
    db: asyncpg.Connection, database_url: str
) -> None:
    await db.execute("CREATE TABLE added_later (note text)")
    await db.execute("INSERT INTO added_later VALUES ('a later row of twelve')")
    tables, text = await database_text(database_url)
    expected = {"secrets", "receipts", "access_events", "api_tokens", "webhook_deliveries"}
    assert {f"public.{t}" for t in expected | {"added_later"}} <= set(tables)
    assert find_leaks(text, {"row": b"a later row of twelve"}) == ["row (raw)"]


@pytest.mark.after_all
async def upload_a_large_secret(api: ApiClient) -> None:
    """A protocol v2 content in many segments, revealed and downloaded halfway: its
    segments, its contents row and its grant stay in the database to be searched."""
    segment = (await (await api.get("/api/v1/limits")).json())["segment_size"]
    sealed = seal_content(segment, secret_text(), secret_text().encode() * 400, max_views=2)
    created = await (await api.post("/api/v1/contents", json=sealed.body)).json()
    url, token = f"/api/v1/contents/{created['id']}", created["upload"]["token"]
    upload = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
    for index, data in enumerate(sealed.segments[1:], start=1):
        assert (await api.put(f"{url}/segments/{index}", data=data, headers=upload)).status == 200
    await api.post(f"{url}/finalize", headers=upload)
    reveal = f"/api/v1/secrets/{created['id']}/reveal"
    grant = (await (await api.post(reveal, json=sealed.claim())).json())["download"]["token"]
    got = await api.get(f"{url}/segments/1", headers={"Authorization": f"Bearer {grant}"})
    assert got.status == 200


async def test_logs_and_databases_hold_no_secret_material(
    api: ApiClient, start_service: StartService, database_url: str, api_with: ClientWith
) -> None:
    # A full lifecycle of its own, so the check has material even when run alone.
    secret = make_secret(passphrase=secret_passphrase(), label="leak-check label", max_views=2)
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    other = start_service("api", database_url)
    for body in (secret.reveal_body(passphrase="wrong"), secret.reveal_body()):
        await api.post(f"/api/v1/secrets/{sid}/reveal", json=body)
    await api.get(f"/api/v1/receipts/{sid}", headers=secret.bearer)
    await api.delete(f"/api/v1/secrets/{sid}", headers=secret.bearer)
    async with aiohttp.ClientSession() as session, session.get(other.metrics_url) as scraped:
        LEAK_WATCH.metrics_texts.append(await scraped.text())
    other.stop()

    await upload_a_large_secret(await api_with(SEGMENT_SIZE="1024"))

    LEAK_WATCH.secret_ids.append(sid)
    assert LEAK_WATCH.needles and LEAK_WATCH.database_urls and LEAK_WATCH.log_files
    report = await search_everything(LEAK_WATCH)
    assert report.log_bytes > 0 and report.metrics_texts > 0
    assert report.databases == len(set(LEAK_WATCH.database_urls))
    assert {
        "public.secrets",
        "public.api_tokens",
        "public.webhook_deliveries",
        "public.contents",
        "public.segments",
        "public.download_grants",
    } <= report.tables
    assert report.leaks == {}
