"""The raw limit: create and reveal through the store's own functions and SQL on a
bare asyncpg pool, no HTTP, from a separate process. Prints one result line."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg

from services.protocol.envelope import b64u_encode
from services.store import secrets

ACCESS = secrets.Access(client_address="127.0.0.0/24", user_agent="bench")


async def main(url: str, concurrency: int, seconds: float, pool_size: int, claim: bytes,
               claim_verifier: bytes, ciphertext: bytes) -> None:  # fmt: skip
    pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)
    deadline = time.monotonic() + seconds
    pairs = 0

    async def worker() -> None:
        nonlocal pairs
        while time.monotonic() < deadline:
            secret_id = b64u_encode(os.urandom(16))
            new = secrets.NewSecret(
                id=secret_id, ciphertext=ciphertext, claim_verifier=claim_verifier,
                unlock_verifier=None, manage_verifier=claim_verifier, label=None,
                max_views=1, max_attempts=5, expires_in=3600,
            )  # fmt: skip
            await secrets.create_secret(pool, new, ACCESS)
            revealed = await secrets.reveal(pool, secret_id, claim, None, ACCESS)
            assert isinstance(revealed, secrets.Revealed), revealed.outcome  # count real ones
            pairs += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(f"RAW pairs={pairs} seconds={time.monotonic() - started:.3f}")
    await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("url", "claim", "claim_verifier", "ciphertext"):
        parser.add_argument(f"--{name.replace('_', '-')}", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pool-size", type=int, default=10)
    a = parser.parse_args()
    verifier, ciphertext = bytes.fromhex(a.claim_verifier), bytes.fromhex(a.ciphertext)
    claim = bytes.fromhex(a.claim)
    asyncio.run(main(a.url, a.concurrency, a.seconds, a.pool_size, claim, verifier, ciphertext))
