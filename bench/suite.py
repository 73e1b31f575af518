"""Benchmark: burnafter against the limit of its own database, side by side.

Production shape: its own PostgreSQL (durable settings), a separate ``burnafter
api`` process, and a reaper process. Load comes from wrk (C, with
``bench/create_reveal.lua``) at concurrency 32. The limits it is held against, in
the same rounds:

- **raw**: the store's own functions and SQL on a bare asyncpg pool, no HTTP, from
  a separate process (``bench/raw_store.py``);
- **pgbench**: the same SQL from PostgreSQL's own C load generator
  (``bench/pgbench_store.py``);
- **plain DELETE**: one ``DELETE FROM secrets WHERE expires_at < now()`` on the
  same number of expired rows that ``burnafter reaper --once`` is timed on, and
  the reaper's own statement (which also ends each receipt and records the
  event) run once over all of them;
- **idle**: reveal latency with no reaper at work, against the same while one
  reaps a backlog.

Each round runs every measurement once, in turn, so machine noise hits all
alike; each figure is the median of the rounds with min and max, and each ratio
is taken within a round. Reproduce with:

    make bench                               # 3 rounds of 10 s, 1,000,000 rows
    BENCH_ROUNDS=5 BENCH_SECONDS=20 make bench
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.pgbench_store import bare_pairs_per_second, pairs_per_second
from bench.raw_store import ACCESS
from bench.seed import seed
from services.client.api_client import prepare_secret
from services.dev.embedded_postgres import EmbeddedPostgres
from services.protocol.envelope import (
    Payload,
    b64u_decode,
    b64u_encode,
    derive_secret_keys,
    verifier,
)
from services.server.settings import Settings
from services.store import secrets
from tools.net import free_port, wait_for_http

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
REAP_ROWS = int(os.environ.get("BENCH_REAP_ROWS", "1000000"))
CONCURRENCY = 32
WRK_THREADS = 2
REVEAL_STOCK = 150_000  # more than the api reveals in one run
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
# One plain DELETE of every expired row, from a process of its own.
PLAIN_DELETE = """
import asyncio, asyncpg, sys
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    await conn.execute('DELETE FROM secrets WHERE expires_at < now()')
asyncio.run(main())
"""


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_wrk(
    base: str, lua_env: Mapping[str, str], threads: int = WRK_THREADS, seconds: int = SECONDS
) -> dict[str, float]:
    """One wrk run of ``bench/create_reveal.lua`` at concurrency 32 against ``base``:
    its counts, seconds and latency percentiles. No request may fail."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency",
         "-s", str(HERE / "create_reveal.lua"), base],
        env={**os.environ, "BURNAFTER_THREADS": str(threads), **lua_env},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("BURNAFTER "))
    figures = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
    assert figures["failed"] == 0, figures
    return figures


@dataclass
class Figures:
    """Every figure, one value per round."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)


class Bench:
    def __init__(
        self, folder: Path, url: str, base: str, env: dict[str, str], bin_dir: Path = BIN
    ) -> None:
        self.folder, self.url, self.base, self.env = folder, url, base, env
        self.bin_dir = bin_dir
        prepared = prepare_secret(Payload("benchmark secret"), max_views=1, expires_in=3600)
        self.claim = derive_secret_keys(bytes(32)).claim
        self.claim_verifier = verifier(self.claim)
        self.ciphertext = b64u_decode(prepared.body["ciphertext"])
        create_body = {**prepared.body, "claim_verifier": b64u_encode(self.claim_verifier)}
        self.lua_env = {
            "BURNAFTER_CREATE_BODY": json.dumps(create_body),
            "BURNAFTER_REVEAL_BODY": json.dumps({"claim": b64u_encode(self.claim)}),
        }

    def wrk(self, **env: str) -> dict[str, float]:
        return run_wrk(self.base, {**self.lua_env, **env})

    def seed(self, count: int, expires_in: int) -> list[str]:
        return asyncio.run(
            seed(self.url, count, expires_in=expires_in, claim_verifier=self.claim_verifier,
                 ciphertext=self.ciphertext)
        )  # fmt: skip

    def reveal_only(self) -> dict[str, float]:
        ids = self.folder / "ids.txt"
        ids.write_text("\n".join(self.seed(REVEAL_STOCK, 3600)) + "\n")
        return self.wrk(BURNAFTER_IDS_FILE=str(ids))

    def raw(self) -> float:
        out = subprocess.run(
            [str(BIN / "python"), "-m", "bench.raw_store", "--url", self.url,
             "--claim", self.claim.hex(), "--claim-verifier", self.claim_verifier.hex(),
             "--ciphertext", self.ciphertext.hex(), "--concurrency", str(CONCURRENCY),
             "--seconds", str(SECONDS), "--pool-size", str(Settings.db_pool_max)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        figures = dict(re.findall(r"(\w+)=([\d.]+)", out))
        return float(figures["pairs"]) / float(figures["seconds"])

    def reaper_once(self) -> subprocess.Popen[bytes]:
        """``burnafter reaper --once``, logging (audit lines included) to a file."""
        log = (self.folder / "reaper.log").open("wb")
        return subprocess.Popen(
            [str(self.bin_dir / "burnafter"), "reaper", "--once"], env=self.env, stderr=log
        )

    def reaper_rate(self) -> tuple[float, float]:
        """Rows per second: the reaper's pass, and peak RSS MB of its process."""
        self.seed(REAP_ROWS, -3600)
        started = time.perf_counter()
        reaper = self.reaper_once()
        rss = 0.0
        while reaper.poll() is None:
            rss = max(rss, peak_rss_mb(reaper.pid))
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        assert reaper.returncode == 0
        return REAP_ROWS / elapsed, rss

    def plain_delete_rate(self) -> float:
        self.seed(REAP_ROWS, -3600)
        started = time.perf_counter()
        subprocess.run([str(BIN / "python"), "-c", PLAIN_DELETE, self.url], check=True)
        return REAP_ROWS / (time.perf_counter() - started)

    def one_statement_rate(self) -> float:
        """The reaper's own statement (delete, receipt, event) over every row at once:
        the same work as the reaper, without batches."""
        self.seed(REAP_ROWS, -3600)

        async def reap_all() -> float:
            pool = await asyncpg.create_pool(self.url, min_size=1, max_size=1)
            try:
                started = time.perf_counter()
                assert len(await secrets.reap_expired(pool, REAP_ROWS)) == REAP_ROWS
                return REAP_ROWS / (time.perf_counter() - started)
            finally:
                await pool.close()

        return asyncio.run(reap_all())

    def reveal_while_reaping(self) -> dict[str, float]:
        ids = self.folder / "ids.txt"
        ids.write_text("\n".join(self.seed(REVEAL_STOCK, 3600)) + "\n")
        self.seed(REAP_ROWS, -3600)
        reaper = self.reaper_once()
        time.sleep(1)  # past its start-up, into the deleting
        figures = self.wrk(BURNAFTER_IDS_FILE=str(ids))
        still_reaping = reaper.poll() is None
        reaper.wait()
        assert still_reaping, "the reaper finished before the load did: raise BENCH_REAP_ROWS"
        return figures

    def round(self, figures: Figures) -> None:
        mixed = self.wrk()
        raw = self.raw()
        pgbench = pairs_per_second(self.url, self.claim_verifier, self.ciphertext, ACCESS,
                                   CONCURRENCY, SECONDS)  # fmt: skip
        bare = bare_pairs_per_second(self.url, self.ciphertext, CONCURRENCY, SECONDS)
        creates = self.wrk(BURNAFTER_ONLY_CREATE="1")
        idle = self.reveal_only()
        busy = self.reveal_while_reaping()
        reaper_rate, reaper_rss = self.reaper_rate()
        delete_rate = self.plain_delete_rate()
        same_work_rate = self.one_statement_rate()

        pairs = mixed["revealed"] / mixed["seconds"]
        figures.add("api create+reveal pairs/s", pairs)
        figures.add("raw asyncpg pairs/s (same store SQL)", raw)
        figures.add("pgbench pairs/s (same SQL)", pgbench)
        figures.add("pgbench bare INSERT + DELETE RETURNING pairs/s", bare)
        figures.add("ratio store SQL/bare (target >= 0.6)", pgbench / bare)
        figures.add("ratio api/raw (target >= 0.5)", pairs / raw)
        figures.add("ratio api/pgbench", pairs / pgbench)
        figures.add("mix p50 ms", mixed["p50_ms"])
        figures.add("mix p99 ms", mixed["p99_ms"])
        figures.add("api creates/s (create only)", creates["created"] / creates["seconds"])
        figures.add("create p50 ms", creates["p50_ms"])
        figures.add("create p99 ms (target <= 50)", creates["p99_ms"])
        figures.add("api reveals/s (reveal only)", idle["revealed"] / idle["seconds"])
        figures.add("reveal p50 ms", idle["p50_ms"])
        figures.add("reveal p99 ms (target <= 50)", idle["p99_ms"])
        figures.add("reveal p99 ms while reaping", busy["p99_ms"])
        figures.add("ratio reaping/idle p99 (target <= 1.5)", busy["p99_ms"] / idle["p99_ms"])
        figures.add(f"reaper rows/s ({REAP_ROWS:,} expired)", reaper_rate)
        figures.add("plain DELETE rows/s (same rows)", delete_rate)
        figures.add("ratio reaper/DELETE (target >= 0.5)", reaper_rate / delete_rate)
        figures.add("reaper's SQL in one statement rows/s", same_work_rate)
        figures.add("ratio reaper/one statement (target >= 0.9)", reaper_rate / same_work_rate)
        figures.add("reaper --once peak RSS MB", reaper_rss)


@contextlib.contextmanager
def running_stack(
    settings: Mapping[str, str] | None = None, bin_dir: Path = BIN
) -> Iterator[tuple[Bench, subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """Its own durable PostgreSQL, a ``burnafter api`` and a ``burnafter reaper``
    process (those of the virtualenv ``bin_dir``); removed again on exit.
    ``settings`` add to (or replace) the services' environment."""
    folder = Path(tempfile.mkdtemp(prefix="burnafter-bench-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "postgres")
    url = server.url_for("postgres")
    server.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([str(bin_dir / "burnafter"), "migrate"], env={"DATABASE_URL": url},
                       check=True, capture_output=True)  # fmt: skip
        port = free_port()
        # Production settings but for the abuse limits, which would refuse a
        # benchmark's flood from one address: the rate limits, the storage cap and
        # the quota per sender (all of the flood is one sender's; with either byte
        # limit on, creates take turns on one row, docs/performance.md). The api
        # logs to a file.
        env = {
            "PATH": os.environ["PATH"], "DATABASE_URL": url, "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port), "METRICS_PORT": "0",
            "RATE_LIMIT_CREATE": "0", "RATE_LIMIT_PEEK": "0", "RATE_LIMIT_REVEAL": "0",
            "MAX_STORED_CIPHERTEXT_BYTES": "0", "MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER": "0",
            **(settings or {}),
        }  # fmt: skip
        api_log = (folder / "api.log").open("wb")
        api = subprocess.Popen([str(bin_dir / "burnafter"), "api"], env=env, stderr=api_log)
        processes.append(api)
        # Its first pass finds nothing; the reaper runs timed here are separate
        # processes, so this one must not race them for the seeded rows.
        reaper = subprocess.Popen(
            [str(bin_dir / "burnafter"), "reaper"], env={**env, "REAPER_INTERVAL": "3600"},
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(reaper)
        wait_for_http(f"http://127.0.0.1:{port}/readyz", api)
        yield Bench(folder, url, f"http://127.0.0.1:{port}", env, bin_dir), api, reaper
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        server.stop("fast")
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    figures = Figures()
    with running_stack() as (bench, api, _):
        for number in range(1, ROUNDS + 1):
            print(f"round {number} of {ROUNDS}", file=sys.stderr, flush=True)
            bench.round(figures)
        api_rss = peak_rss_mb(api.pid)

    print(f"\nburnafter against its database: concurrency {CONCURRENCY}, {ROUNDS} rounds "
          f"of {SECONDS} s per run, {os.cpu_count()} cores")  # fmt: skip
    print(f"{'':44} {'median':>9} {'min':>9} {'max':>9}")
    for name, values in figures.values.items():
        print(f"{name:44} {statistics.median(values):9.2f} {min(values):9.2f} "
              f"{max(values):9.2f}")  # fmt: skip
    print(f"api peak RSS MB under load: {api_rss:.0f} (target <= 150; the reaper's is above)")
    print("reproduce: make bench")


if __name__ == "__main__":
    main()
