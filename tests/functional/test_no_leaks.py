"""After the whole suite: no log line, metrics scrape or database row holds
plaintext, keys, claims, unlock proofs, manage tokens, passphrases or labels, in raw,
hex or base64; and no log line or metric holds a raw secret id or ciphertext."""

from __future__ import annotations

import base64

import aiohttp
import asyncpg
import pytest

from tests.support import LEAK_WATCH, make_secret, secret_passphrase

TABLES = ("secrets", "receipts", "access_events", "schema_migrations")


def encodings(needle: bytes) -> dict[str, bytes]:
    return {
        "raw": needle,
        "hex": needle.hex().encode(),
        "HEX": needle.hex().upper().encode(),
        "base64": base64.b64encode(needle).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(needle).rstrip(b"="),
    }


def find_leaks(haystack: bytes, needles: dict[str, bytes]) -> list[str]:
    found = []
    for name, needle in needles.items():
        for form, encoded in encodings(needle).items():
            if encoded in haystack:
                found.append(f"{name} ({form})")
    return found


def test_the_leak_detector_finds_each_form() -> None:
    needle = b"\x00\xffsecret-bytes\x10"
    for form, encoded in encodings(needle).items():
        assert f"n ({form})" in find_leaks(b"prefix " + encoded + b" suffix", {"n": needle})
    assert find_leaks(b"nothing here", {"n": needle}) == []


async def database_text(url: str) -> bytes:
    conn = await asyncpg.connect(url)
    try:
        parts = []
        for table in TABLES:
            rows = await conn.fetch(f"SELECT t::text AS row FROM {table} t")  # noqa: S608
            parts += [r["row"] for r in rows]
        return "\n".join(parts).encode()
    finally:
        await conn.close()


@pytest.mark.after_all
async def test_logs_and_databases_hold_no_secret_material(api, start_service, database_url) -> None:
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

    LEAK_WATCH.secret_ids.append(sid)
    assert LEAK_WATCH.needles and LEAK_WATCH.database_urls and LEAK_WATCH.log_files
    telemetry_needles = {
        **LEAK_WATCH.needles,
        **{f"secret id#{n}": i.encode() for n, i in enumerate(LEAK_WATCH.secret_ids)},
        **{f"ciphertext#{n}": c for n, c in enumerate(LEAK_WATCH.ciphertexts)},
    }
    leaks = {}
    log_bytes = 0
    for path in LEAK_WATCH.log_files:
        if path.exists():
            data = path.read_bytes()
            log_bytes += len(data)
            leaks[str(path)] = find_leaks(data, telemetry_needles)
    assert log_bytes > 0
    for n, text in enumerate(LEAK_WATCH.metrics_texts):
        leaks[f"metrics scrape {n}"] = find_leaks(text.encode(), telemetry_needles)
    for url in LEAK_WATCH.database_urls:
        leaks[url] = find_leaks(await database_text(url), LEAK_WATCH.needles)
    assert {where: found for where, found in leaks.items() if found} == {}
