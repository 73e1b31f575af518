"""Benchmark: a large file through the api against the limit of its database.

The same stack as ``make bench`` (``bench/suite.py``): its own PostgreSQL with
durable settings, a separate ``burnafter api`` process (``SEGMENT_SIZE`` 1 MiB,
``MAX_CONTENT_BYTES`` and the storage caps raised for the run). Each measurement
runs in a client process of its own, which moves one content of
``BENCH_FILE_MB`` MiB of sealed segments up and back down, one way of three:

- **api**: over HTTP with aiohttp, as a v2 client does: create (segment 0 inline,
  a real wrapped key and claim), one ``PUT`` per segment, finalize; then reveal,
  one ``GET`` per segment with the grant, and ``downloaded``. As the clients do,
  an upload keeps ``UPLOAD_WINDOW`` (4) ``PUT``s in flight and a download
  ``DOWNLOAD_WINDOW`` (4) ``GET``s, each taken in order;
- **store**: the same steps through ``services/store/contents.py`` on an asyncpg
  pool (the api's own path to the database, without HTTP);
- **bare**: a matching ``contents`` row, then one plain ``INSERT`` per segment into
  ``segments`` and one ``SELECT`` per segment back, on one asyncpg connection.

Each statement commits on its own, as the api's do. The server never decrypts, so
the segments are random bytes of a sealed segment's size (64 distinct ones, used
in turn); every one downloaded is compared with the one sent. Upload time runs
from the create to the finalize, download time from the reveal to the last
segment; deleting the content (``downloaded``, or the bare ``DELETE``) is timed
apart. Rounds interleave api, store and bare, so noise hits all three; each ratio
is taken within a round. An untimed bare run first grows the table; between
measurements the tables are vacuumed and PostgreSQL checkpoints, so each starts
alike.

Then four uploads of the same size run at once (four clients' worth, in one
process), and the api's RSS (``VmRSS``) is sampled every 100 ms: the peak is
held against 150 MB. Their downloads follow, sampled the same way.

Reproduce with:

    make bench-files                          # 1 GiB, 2 rounds
    BENCH_FILE_MB=128 BENCH_ROUNDS=3 make bench-files
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg

from bench.raw_store import ACCESS
from bench.suite import BIN, Figures, running_stack
from services.client.contents import DOWNLOAD_WINDOW
from services.protocol import content
from services.protocol.content import UPLOAD_WINDOW
from services.protocol.envelope import b64u_decode, b64u_encode, verifier
from services.server.settings import Settings
from services.store import contents as store
from services.store import db
from services.store.secrets import Refused

T = TypeVar("T")

FILE_MB = int(os.environ.get("BENCH_FILE_MB", "1024"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
AT_ONCE = 4
SEGMENT = content.DEFAULT_SEGMENT_SIZE
SEALED_SEGMENT = SEGMENT + content.TAG_BYTES
DISTINCT = 64
MiB = 1024 * 1024
SAMPLE_SECONDS = 0.1
CONTENTS = "/api/v1/contents"
SIDES = ("api", "store", "bare")
# The api's settings for the run: a content of any size the bench asks for, and the
# storage caps on (their reservation is on the create's path) but far above it.
SETTINGS = {
    "SEGMENT_SIZE": str(SEGMENT),
    "MAX_CONTENT_BYTES": str(64 * 1024 * MiB),
    "MAX_STORED_CIPHERTEXT_BYTES": str(2**40),
    "MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER": str(2**40),
    # Deleting a 1 GiB content (``downloaded``) takes PostgreSQL more than the
    # default 5 s, which would answer 503: the delete is timed here, not refused.
    "DB_TIMEOUT": "120",
}


class Segments:
    """A content of ``mib`` MiB of plaintext, sealed: ``count`` random segments of
    a sealed segment's size (the last one full too, which the declaration allows)."""

    def __init__(self, mib: int) -> None:
        self.count = mib * MiB // SEGMENT
        self.sealed_bytes = self.count * SEALED_SEGMENT
        self._pool = [os.urandom(SEALED_SEGMENT) for _ in range(DISTINCT)]

    def __getitem__(self, index: int) -> bytes:
        return self._pool[index % DISTINCT]


class Timer:
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.marks[name] = self.marks.get(name, 0.0) + time.perf_counter() - started


class RssSampler(threading.Thread):
    """The api's resident memory every 100 ms, the peak kept per phase."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.phase = "idle"
        self.peaks: dict[str, float] = {}
        self.done = threading.Event()

    def rss_mb(self) -> float:
        line = next(x for x in self.status.read_text().splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), self.rss_mb())


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def create_body(segments: Segments, claim: bytes) -> dict[str, Any]:
    """A v2 create as a client seals it (``test_contents_api.seal``), with the real
    size declared and a random segment 0."""
    wrap = content.derive_link_keys(os.urandom(32)).wrap
    return {
        "segment_size": SEGMENT,
        "segment_count": segments.count,
        "sealed_bytes": segments.sealed_bytes,
        "first_segment": b64u_encode(segments[0]),
        "wrapped_key": b64u_encode(content.wrap_content_key(wrap, content.new_content_key())),
        "claim_verifier": b64u_encode(verifier(claim)),
        "manage_verifier": b64u_encode(verifier(os.urandom(32))),
    }


async def in_window(
    count: int, window: int, call: Callable[[int], Coroutine[Any, Any, T]]
) -> AsyncIterator[T]:
    """``call(index)`` for segments 1..count-1, ``window`` at once, the answers taken
    in order: as the clients move segments each way."""
    going: dict[int, asyncio.Task[T]] = {}
    try:
        for index in range(1, count):
            for ahead in range(index, min(index + window, count)):
                if ahead not in going:
                    going[ahead] = asyncio.create_task(call(ahead))
            yield await going.pop(index)
    finally:
        for task in going.values():
            task.cancel()


async def api_upload(http: aiohttp.ClientSession, segments: Segments, claim: bytes) -> str:
    async with http.post(CONTENTS, json=create_body(segments, claim)) as created:
        assert created.status == 201, await created.text()
        answer = await created.json()
    secret_id, token = answer["id"], answer["upload"]["token"]
    octets = bearer(token, **{"Content-Type": "application/octet-stream"})

    async def put(index: int) -> None:
        url = f"{CONTENTS}/{secret_id}/segments/{index}"
        async with http.put(url, data=segments[index], headers=octets) as put:
            assert put.status == 200, await put.text()

    async for _ in in_window(segments.count, UPLOAD_WINDOW, put):
        pass
    async with http.post(f"{CONTENTS}/{secret_id}/finalize", headers=bearer(token)) as live:
        assert live.status == 200, await live.text()
    return str(secret_id)


async def api_download(
    http: aiohttp.ClientSession, segments: Segments, secret_id: str, claim: bytes
) -> str:
    url = f"/api/v1/secrets/{secret_id}/reveal"
    async with http.post(url, json={"claim": b64u_encode(claim)}) as revealed:
        assert revealed.status == 200, await revealed.text()
        answer = await revealed.json()
    assert b64u_decode(answer["first_segment"]) == segments[0]
    grant = answer["download"]["token"]

    async def read(index: int) -> bytes:
        url = f"{CONTENTS}/{secret_id}/segments/{index}"
        async with http.get(url, headers=bearer(grant)) as got:
            assert got.status == 200, got.status
            return await got.read()

    index = 1
    async for got in in_window(segments.count, DOWNLOAD_WINDOW, read):
        assert got == segments[index]
        index += 1
    return str(grant)


async def api_side(base: str, segments: Segments, uploads: int, rss: RssSampler) -> Timer:
    """``uploads`` contents at once over HTTP: all up, then all down, then deleted."""
    timer, claim = Timer(), os.urandom(32)
    connector = aiohttp.TCPConnector(limit=uploads * max(UPLOAD_WINDOW, DOWNLOAD_WINDOW))
    async with aiohttp.ClientSession(base, connector=connector) as http:
        rss.phase = "up"
        with timer("up"):
            ids = await asyncio.gather(*(api_upload(http, segments, claim) for _ in range(uploads)))
        rss.phase = "down"
        with timer("down"):
            grants = await asyncio.gather(
                *(api_download(http, segments, secret_id, claim) for secret_id in ids)
            )
        rss.phase = "delete"
        with timer("delete"):
            for secret_id, grant in zip(ids, grants, strict=True):
                url = f"{CONTENTS}/{secret_id}/downloaded"
                async with http.post(url, headers=bearer(grant)) as done:
                    assert done.status == 204, await done.text()
    return timer


async def store_side(url: str, segments: Segments) -> Timer:
    """The api's path to the database: ``services/store/contents.py`` on a pool."""
    timer, claim, upload = Timer(), os.urandom(32), os.urandom(32)
    pool = await db.create_pool(
        url, min_size=1, max_size=Settings.db_pool_max,
        statement_cache_size=Settings.db_statement_cache_size, db_timeout=60,
    )  # fmt: skip
    secret_id = b64u_encode(os.urandom(16))
    new = store.NewContent(SEGMENT, segments.count, segments.sealed_bytes, segments[0],
                           verifier(upload), 3600)  # fmt: skip
    link = store.NewLink(secret_id, bytes(content.WRAPPED_BYTES), verifier(claim),
                         None, verifier(claim), None, 1, 5, 3600)  # fmt: skip
    try:
        with timer("up"):
            await store.create_content(pool, new, link, ACCESS)
            for index in range(1, segments.count):
                stored = await store.put_segment(pool, secret_id, upload, index, segments[index])
                assert stored.received == index + 1, stored
            assert (await store.finalize(pool, secret_id, upload)).received == segments.count
        grant = os.urandom(32)
        with timer("down"):
            revealed = await store.reveal(pool, secret_id, claim, None, ACCESS,
                                          verifier(grant), 3600)  # fmt: skip
            assert not isinstance(revealed, Refused), revealed
            for index in range(1, segments.count):
                data = await store.read_segment(pool, secret_id, grant, index)
                assert data == segments[index]
        with timer("delete"):
            await store.complete_grant(pool, secret_id, grant)
    finally:
        await pool.close()
    return timer


_BARE_CONTENT = """
INSERT INTO contents (id, state, segment_size, segment_count, sealed_bytes, received,
                      upload_verifier, upload_expires_at)
VALUES ($1, 'uploading', $2, $3, $4, 1, $5, now() + interval '1 hour')
"""
_BARE_INSERT = "INSERT INTO segments (content_id, index, data) VALUES ($1, $2, $3)"
_BARE_SELECT = "SELECT data FROM segments WHERE content_id = $1 AND index = $2"


async def bare_side(url: str, segments: Segments) -> Timer:
    """The same segments INSERTed into ``segments`` and SELECTed back, one statement
    (and commit) each, on one plain asyncpg connection."""
    timer, content_id = Timer(), b64u_encode(os.urandom(16))
    conn = await asyncpg.connect(url)
    try:
        with timer("up"):
            await conn.execute(_BARE_CONTENT, content_id, SEGMENT, segments.count,
                               segments.sealed_bytes, os.urandom(32))  # fmt: skip
            for index in range(segments.count):
                await conn.execute(_BARE_INSERT, content_id, index, segments[index])
        with timer("down"):
            for index in range(segments.count):
                data = await conn.fetchval(_BARE_SELECT, content_id, index)
                assert data == segments[index]
        with timer("delete"):
            await conn.execute("DELETE FROM contents WHERE id = $1", content_id)
    finally:
        await conn.close()
    return timer


def client(args: argparse.Namespace) -> None:
    """One measurement, in this process: print its times and the api's RSS peaks."""
    segments = Segments(args.mib)
    rss = RssSampler(args.api_pid)
    rss.peaks["idle"] = rss.rss_mb()
    rss.start()
    if args.side == "api":
        timer = asyncio.run(api_side(args.base, segments, args.uploads, rss))
    elif args.side == "store":
        timer = asyncio.run(store_side(args.url, segments))
    else:
        timer = asyncio.run(bare_side(args.url, segments))
    rss.done.set()
    rss.join()
    figures = {f"{k}_s": v for k, v in timer.marks.items()}
    figures |= {f"rss_{k}_mb": v for k, v in rss.peaks.items()}
    print("LARGE " + " ".join(f"{k}={v:.3f}" for k, v in figures.items()), flush=True)


def measure(side: str, url: str, base: str, api_pid: int, uploads: int = 1) -> dict[str, float]:
    out = subprocess.run(
        [str(BIN / "python"), "-m", "bench.large_files", "--side", side, "--url", url,
         "--base", base, "--api-pid", str(api_pid), "--mib", str(FILE_MB),
         "--uploads", str(uploads)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"the {side} client failed:\n{out.stderr}")
    line = next(line for line in out.stdout.splitlines() if line.startswith("LARGE "))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


async def settle(url: str) -> None:
    """Every measurement starts alike: no content left (the released ones purged as
    the reaper purges them, untimed), the space reusable, WAL flushed to the data
    files."""
    async with asyncpg.create_pool(url, min_size=1, max_size=1) as pool:
        while await store.purge_released(pool):
            pass
        await store.drop_emptied(pool)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM segments") == 0
        await conn.execute("VACUUM segments, contents, download_grants")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def tune(url: str) -> None:
    """WAL room for a whole measurement between the checkpoints ``settle`` makes:
    with the default, 1 GB, a 1 GiB upload would checkpoint halfway through some
    measurements and not others."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def mib_per_s(figures: dict[str, float], phase: str, mib: float) -> float:
    return mib / figures[f"{phase}_s"]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(url: str, base: str, api_pid: int, figures: Figures) -> None:
    rates: dict[str, dict[str, float]] = {}
    for side in SIDES:
        cpu = cpu_seconds(api_pid)
        got = measure(side, url, base, api_pid)
        if side == "api":
            busy = (cpu_seconds(api_pid) - cpu) / (got["up_s"] + got["down_s"] + got["delete_s"])
            figures.add("api process CPU % while measured", 100 * busy)
        asyncio.run(settle(url))
        rates[side] = {phase: mib_per_s(got, phase, FILE_MB) for phase in ("up", "down")}
        figures.add(f"{side} delete s", got["delete_s"])
        if side == "api":
            figures.add("api peak RSS MB, one upload", got["rss_up_mb"])
    for phase in ("up", "down"):
        for side in SIDES:
            figures.add(f"{side} {phase} MiB/s", rates[side][phase])
        target = " (target >= 0.5)"
        figures.add(f"ratio api/bare {phase}{target}", rates["api"][phase] / rates["bare"][phase])
        figures.add(f"ratio api/store {phase}", rates["api"][phase] / rates["store"][phase])
        figures.add(f"ratio store/bare {phase}", rates["store"][phase] / rates["bare"][phase])


def report(figures: Figures, together: dict[str, float]) -> None:
    print(f"\nA {FILE_MB} MiB file ({FILE_MB * MiB // SEGMENT} segments of {SEGMENT // 1024} KiB)"
          f" through the api and against its database, {ROUNDS} rounds, {os.cpu_count()} "
          f"cores; the api's {UPLOAD_WINDOW} PUTs and {DOWNLOAD_WINDOW} GETs in flight per "
          "content, as the clients do; store and bare one statement at a time")  # fmt: skip
    print(f"{'':40} {'median':>9} {'min':>9} {'max':>9}")
    for name in sorted(figures.values, key=_order):
        values = figures.values[name]
        print(f"{name:40} {statistics.median(values):9.2f} {min(values):9.2f} "
              f"{max(values):9.2f}")  # fmt: skip
    total = AT_ONCE * FILE_MB
    print(f"\n{AT_ONCE} uploads of {FILE_MB} MiB at once: {total / together['up_s']:.1f} MiB/s in "
          f"all; api peak RSS {together['rss_up_mb']:.0f} MB (target < 150), before "
          f"{together['rss_idle_mb']:.0f} MB")  # fmt: skip
    print(f"their {AT_ONCE} downloads at once: {total / together['down_s']:.1f} MiB/s in all; "
          f"api peak RSS {together['rss_down_mb']:.0f} MB")  # fmt: skip
    print(f"reproduce: BENCH_FILE_MB={FILE_MB} BENCH_ROUNDS={ROUNDS} make bench-files")


def _order(name: str) -> tuple[int, int, str]:
    phase = 0 if " up" in name else 1 if " down" in name else 2 if "delete" in name else 3
    return (phase, 1 if name.startswith("ratio") else 0, name)


def main() -> None:
    figures = Figures()
    with running_stack(SETTINGS) as (bench, api, _):
        asyncio.run(tune(bench.url))
        # Untimed: the first content would also pay for growing the table, which
        # every later one finds grown (and vacuumed).
        measure("bare", bench.url, bench.base, api.pid)
        asyncio.run(settle(bench.url))
        for number in range(1, ROUNDS + 1):
            print(f"round {number} of {ROUNDS}", file=sys.stderr, flush=True)
            one_round(bench.url, bench.base, api.pid, figures)
        print(f"{AT_ONCE} at once", file=sys.stderr, flush=True)
        together = measure("api", bench.url, bench.base, api.pid, AT_ONCE)
        asyncio.run(settle(bench.url))
    report(figures, together)


if __name__ == "__main__":
    if len(sys.argv) == 1:
        main()
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--side", choices=SIDES, required=True)
        for name in ("url", "base"):
            parser.add_argument(f"--{name}", required=True)
        for name in ("api-pid", "mib", "uploads"):
            parser.add_argument(f"--{name}", type=int, required=True)
        client(parser.parse_args())
