"""Secrets written straight into the tables, many at a time, for the benchmarks
that need a stock of them: live ones to reveal, expired ones to reap. Each gets
its receipt and its 'created' event, as the api would have written them."""

from __future__ import annotations

import os

import asyncpg

_SEED = """
WITH secret AS (
    INSERT INTO secrets (id, ciphertext, claim_verifier, unlock_verifier,
                         views_left, attempts_left, expires_at)
    SELECT rtrim(translate(encode(decode(md5($1 || g::text), 'hex'), 'base64'), '+/', '-_'), '='),
           $2, $3, NULL, 1, 5, now() + make_interval(secs => $4)
    FROM generate_series(1, $5) AS g
    RETURNING id, expires_at
), receipt AS (
    INSERT INTO receipts (id, manage_verifier, label, max_views, max_attempts,
                          passphrase, ciphertext_bytes, expires_at)
    SELECT id, $3, NULL, 1, 5, false, length($2), expires_at FROM secret
    RETURNING id
), event AS (
    INSERT INTO access_events (secret_id, event) SELECT id, 'created' FROM receipt
)
SELECT id FROM secret
"""


async def seed(
    url: str, count: int, *, expires_in: int, claim_verifier: bytes, ciphertext: bytes
) -> list[str]:
    """Store ``count`` secrets expiring in ``expires_in`` s (negative: already
    expired); return their ids."""
    conn = await asyncpg.connect(url)
    try:
        salt = os.urandom(8).hex()
        rows = await conn.fetch(_SEED, salt, ciphertext, claim_verifier, expires_in, count)
        # Settle what the seeding wrote, so the run measured next does not pay for it.
        await conn.execute("ANALYZE secrets, receipts, access_events")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return [row["id"] for row in rows]
