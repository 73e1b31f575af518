"""Benchmark: the api against the raw limit of its own database, side by side.

Production shape: its own PostgreSQL (durable settings), a separate ``burnafter
api`` process, the reaper running. Load comes from wrk (C, with
``bench/create_reveal.lua``) at concurrency 32; the raw limit is the store's own
SQL on a bare asyncpg pool from a separate process (``bench/raw_store.py``). Runs
are interleaved (api, raw, api create-only) so machine noise hits all alike; each
figure is the median of the rounds with min and max, and each ratio is taken
round by round. Reproduce with:

    make bench
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from services.client.api_client import prepare_secret
from services.common.embedded_postgres import EmbeddedPostgres
from services.common.envelope import (
    Payload,
    b64u_decode,
    b64u_encode,
    derive_secret_keys,
    verifier,
)
from tests.support import free_port, wait_for_http

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = 32
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def rss_mb(pid: int) -> float:
    """Peak resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(url: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{SECONDS}s", "--latency",
         "-s", str(HERE / "create_reveal.lua"), url],
        env={**os.environ, **env}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("BURNAFTER "))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


def raw(url: str, claim: bytes, verifier: bytes, ciphertext: bytes) -> float:
    out = subprocess.run(
        [str(BIN / "python"), "-m", "bench.raw_store", "--url", url, "--claim", claim.hex(),
         "--claim-verifier", verifier.hex(), "--ciphertext", ciphertext.hex(),
         "--concurrency", str(CONCURRENCY), "--seconds", str(SECONDS)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = dict(re.findall(r"(\w+)=([\d.]+)", out))
    return float(figures["pairs"]) / float(figures["seconds"])


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):9.2f} {min(values):9.2f} {max(values):9.2f}"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="burnafter-bench-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "postgres")
    url = server.url_for("postgres")
    server.start()
    processes = []
    try:
        subprocess.run([str(BIN / "burnafter"), "migrate"], env={"DATABASE_URL": url},
                       check=True, capture_output=True)  # fmt: skip
        port = free_port()
        env = {
            "PATH": os.environ["PATH"], "DATABASE_URL": url, "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port), "METRICS_PORT": "0", "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_CREATE": "0", "RATE_LIMIT_PEEK": "0", "RATE_LIMIT_REVEAL": "0",
            "MAX_STORED_CIPHERTEXT_BYTES": "0", "REAPER_INTERVAL": "5",
        }  # fmt: skip
        api = subprocess.Popen([str(BIN / "burnafter"), "api"], env=env)
        reaper = subprocess.Popen([str(BIN / "burnafter"), "reaper"], env=env)
        processes = [api, reaper]
        wait_for_http(f"http://127.0.0.1:{port}/readyz", api)

        link_key = bytes(32)
        prepared = prepare_secret(Payload("benchmark secret"), max_views=1, expires_in=3600)
        claim = derive_secret_keys(link_key).claim
        body = {**prepared.body, "claim_verifier": b64u_encode(verifier(claim))}
        lua_env = {
            "BURNAFTER_CREATE_BODY": json.dumps(body),
            "BURNAFTER_REVEAL_BODY": json.dumps({"claim": b64u_encode(claim)}),
        }
        ciphertext = b64u_decode(prepared.body["ciphertext"])
        api_pairs, raw_pairs, ratios, p50, p99, create_p50, create_p99, creates = (
            [] for _ in range(8)
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(ROUNDS):
            mixed = wrk(base, lua_env)
            raw_rate = raw(url, claim, verifier(claim), ciphertext)
            only = wrk(base, {**lua_env, "BURNAFTER_ONLY_CREATE": "1"})
            assert mixed["failed"] == 0 and only["failed"] == 0, (mixed, only)
            api_rate = mixed["revealed"] / mixed["seconds"]
            api_pairs.append(api_rate)
            raw_pairs.append(raw_rate)
            ratios.append(api_rate / raw_rate)
            p50.append(mixed["p50_ms"])
            p99.append(mixed["p99_ms"])
            creates.append(only["created"] / only["seconds"])
            create_p50.append(only["p50_ms"])
            create_p99.append(only["p99_ms"])
        api_rss, reaper_rss = rss_mb(api.pid), rss_mb(reaper.pid)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        server.stop("fast")
        shutil.rmtree(folder, ignore_errors=True)

    print(f"\nburnafter api vs raw asyncpg, concurrency {CONCURRENCY}, {ROUNDS} interleaved rounds "
          f"of {SECONDS} s ({os.cpu_count()} cores)")  # fmt: skip
    print(f"{'':44} {'median':>9} {'min':>9} {'max':>9}")
    rows = [
        ("api create+reveal pairs/s", api_pairs),
        ("raw asyncpg pairs/s (same store SQL)", raw_pairs),
        ("ratio api/raw (target >= 0.5)", ratios),
        ("api creates/s (create only)", creates),
        ("create p50 ms", create_p50),
        ("create p99 ms (target <= 50)", create_p99),
        ("create+reveal mix p50 ms", p50),
        ("create+reveal mix p99 ms (target <= 50)", p99),
    ]
    for name, values in rows:
        print(f"{name:44} {summary(values)}")
    print(f"peak RSS MB: api {api_rss:.0f}, reaper {reaper_rss:.0f} (target <= 150 each)")
    print("reproduce: make bench")


if __name__ == "__main__":
    main()
