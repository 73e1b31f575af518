"""Benchmark: the pages' own work in Chromium (Debian's, headless, as the browser
tests drive it).

1. **Encrypting.** One page on a bare static server on loopback (a secure
   context) imports ``/static/js/content.js`` and makes a Blob of
   ``BENCH_BROWSER_MB`` MiB of random bytes. Each round times, in turn:

   - **sealer**: ``ContentSealer`` over the Blob as a one-file content, with the
     service's default segment size (1 MiB), every sealed segment taken and
     dropped, as the create page's upload takes them;
   - **raw**: ``crypto.subtle.encrypt`` AES-256-GCM over the same Blob, read in the
     same 1 MiB slices, with a fixed key and counter nonces;
   - **in memory**: the same ``encrypt`` calls over one 1 MiB buffer already in
     memory, as often: what WebCrypto costs without reading the Blob.

   Speeds are the file's MiB per second (the sealer also seals the padding:
   3 % more for 256 MiB). Each ratio is taken within a round.

2. **Downloading to disk.** The real pages (``burnafter dev``: web and api in one
   process, on its own durable PostgreSQL). ``burnafter send --file`` shares a
   file of ``BENCH_BROWSER_DOWNLOAD_MB`` MiB (twice the above by default); a
   fresh Chromium profile opens the link, reveals, and saves the file through
   the File System Access path, the save dialog answered as
   ``tests/browser/test_large_files.py`` answers it (into the origin's private
   file system). Every 100 ms the tab's JS heap (CDP ``Performance.getMetrics``)
   and the memory of each of Chromium's processes (``/proc``) are sampled; the
   renderer's ``VmHWM`` at the end catches a peak of its RSS between samples.
   The target is on the tab's **memory footprint**, as Chromium counts it (its task
   manager's "Memory footprint" column; ``CalculatePrivateFootprintKb`` in
   ``services/resource_coordinator/.../os_metrics``): on Linux ``RssAnon`` +
   ``VmSwap`` of the renderer, its own memory. RSS also counts the pages of the
   Chromium binary that every process maps and shares (about 115 MB here), which
   no page can lower.

Reproduce with:

    make bench-browser                        # 256 MiB to encrypt, 512 MiB to download
    BENCH_BROWSER_MB=64 BENCH_ROUNDS=3 make bench-browser
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from playwright.async_api import Browser, async_playwright

from bench.suite import BIN, Figures
from services.dev.embedded_postgres import EmbeddedPostgres
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SAVE_DIALOG, open_landing, reveal
from tools.net import free_port, wait_for_http

ENCRYPT_MB = int(os.environ.get("BENCH_BROWSER_MB", "256"))
DOWNLOAD_MB = int(os.environ.get("BENCH_BROWSER_DOWNLOAD_MB", str(2 * ENCRYPT_MB)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MiB = 1024 * 1024
SAMPLE_SECONDS = 0.1
MEMORY_TARGET_MB = 200
STATIC = Path(__file__).resolve().parents[1] / "services" / "web" / "static"
BLANK = "<!doctype html><meta charset=utf-8><title>bench</title>"
FILE_NAME = "bench.bin"
# The services' settings for the download: a content of that size, no abuse limits.
SETTINGS = {
    "MAX_CONTENT_BYTES": str(64 * 1024 * MiB),
    "MAX_STORED_CIPHERTEXT_BYTES": str(2**40),
    "MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER": str(2**40),
    "RATE_LIMIT_CREATE": "0",
    "RATE_LIMIT_PEEK": "0",
    "RATE_LIMIT_REVEAL": "0",
    "DB_TIMEOUT": "120",  # deleting a large content after the download takes a while
    "LOG_LEVEL": "WARNING",
}

# A Blob of random bytes, kept on the page (getRandomValues fills 64 KiB a call).
MAKE_BLOB = """async (mb) => {
  const MiB = 1024 * 1024;
  const parts = [];
  for (let n = 0; n < mb; n += 1) {
    const chunk = new Uint8Array(MiB);
    for (let at = 0; at < MiB; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536));
    parts.push(new Blob([chunk]));
  }
  window.benchBlob = new Blob(parts);
  window.benchContent = await import("/static/js/content.js");
  const raw = new Uint8Array(32);
  window.benchKey = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
  return window.benchBlob.size;
}"""
SEALER = """async () => {
  const { ContentSealer, DEFAULT_SEGMENT_SIZE, newContentKey } = window.benchContent;
  const files = [{ name: "bench.bin", type: "", blob: window.benchBlob }];
  const started = performance.now();
  const sealer = new ContentSealer(newContentKey(), { files }, DEFAULT_SEGMENT_SIZE);
  let sealed = 0;
  for await (const segment of sealer) sealed += segment.length;
  return { ms: performance.now() - started, sealed };
}"""
# Counter nonces: 8 zero bytes then the slice's index.
RAW = """async () => {
  const { DEFAULT_SEGMENT_SIZE: step } = window.benchContent;
  const blob = window.benchBlob;
  const started = performance.now();
  let sealed = 0;
  for (let index = 0; index * step < blob.size; index += 1) {
    const data = await blob.slice(index * step, (index + 1) * step).arrayBuffer();
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(8, index);
    const params = { name: "AES-GCM", iv };
    sealed += (await crypto.subtle.encrypt(params, window.benchKey, data)).byteLength;
  }
  return { ms: performance.now() - started, sealed };
}"""
IN_MEMORY = """async () => {
  const { DEFAULT_SEGMENT_SIZE: step } = window.benchContent;
  const data = new Uint8Array(step);
  const started = performance.now();
  let sealed = 0;
  for (let index = 0; index * step < window.benchBlob.size; index += 1) {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(8, index);
    const params = { name: "AES-GCM", iv };
    sealed += (await crypto.subtle.encrypt(params, window.benchKey, data)).byteLength;
  }
  return { ms: performance.now() - started, sealed };
}"""
SAVED_SIZE = """async (name) => {
  const root = await navigator.storage.getDirectory();
  return (await (await root.getFileHandle(name)).getFile()).size;
}"""


def launch_args() -> dict[str, Any]:
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS, "headless": True}


@contextlib.asynccontextmanager
async def static_site() -> AsyncIterator[str]:
    """A blank page and the pages' static files on loopback: nothing else."""

    async def blank(_request: web.Request) -> web.Response:
        return web.Response(text=BLANK, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", blank)
    app.router.add_static("/static/", STATIC)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def encrypting(browser: Browser, figures: Figures) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    async with static_site() as site:
        await page.goto(site + "/")
        size = await page.evaluate(MAKE_BLOB, ENCRYPT_MB)
        assert size == ENCRYPT_MB * MiB, size
        for number in range(1, ROUNDS + 1):
            print(f"encrypting: round {number} of {ROUNDS}", file=sys.stderr, flush=True)
            speeds = {}
            for name, script in (("sealer", SEALER), ("raw", RAW), ("in memory", IN_MEMORY)):
                result = await page.evaluate(script)
                assert result["sealed"] >= size, result
                speeds[name] = ENCRYPT_MB / (result["ms"] / 1000)
            figures.add("ContentSealer MiB/s (file bytes)", speeds["sealer"])
            figures.add("raw AES-GCM MiB/s, same Blob slices", speeds["raw"])
            figures.add("raw AES-GCM MiB/s, one buffer in memory", speeds["in memory"])
            figures.add("ratio sealer/raw (target >= 0.5)", speeds["sealer"] / speeds["raw"])
            figures.add("ratio raw/in memory", speeds["raw"] / speeds["in memory"])
    await context.close()


@contextlib.contextmanager
def running_pages(folder: Path) -> Iterator[str]:
    """``burnafter dev`` (web and api in one process, as ``make run`` serves them)
    on its own durable PostgreSQL; removed again on exit."""
    server = EmbeddedPostgres(folder / "postgres")
    server.start()
    port = free_port()
    env = {
        "PATH": os.environ["PATH"], "DATABASE_URL": server.url_for("postgres"),
        "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port), "METRICS_PORT": "0", **SETTINGS,
    }  # fmt: skip
    with (folder / "dev.log").open("wb") as log:
        dev = subprocess.Popen([str(BIN / "burnafter"), "dev"], env=env, stderr=log)
    try:
        site = f"http://127.0.0.1:{port}"
        wait_for_http(site + "/readyz", dev, seconds=60)
        yield site
    finally:
        dev.terminate()
        dev.wait(timeout=30)
        server.stop("fast")


def share(site: str, folder: Path) -> str:
    """``burnafter send --file`` of DOWNLOAD_MB MiB of random bytes: the share link."""
    path = folder / FILE_NAME
    with path.open("wb") as out:
        for _ in range(DOWNLOAD_MB):
            out.write(os.urandom(MiB))
    sent = subprocess.run(
        [str(BIN / "burnafter"), "send", "--file", str(path), "--views", "2",
         "--server", site, "--json"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True,
    )  # fmt: skip
    path.unlink()
    return str(json.loads(sent.stdout)["link"])


MEMORY_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSwap")
FOOTPRINT = "footprint"  # RssAnon + VmSwap: Chromium's private memory footprint on Linux


def memory_mb(pid: int) -> dict[str, float]:
    """A process's memory from /proc, in MB: VmRSS, and what it is made of (private,
    mapped files, shared memory), VmSwap, VmHWM (its peak VmRSS), and its footprint
    (``FOOTPRINT``)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:  # gone meanwhile
        return {}
    fields = dict(line.split(":", 1) for line in lines)
    memory = {
        name: int(fields[name].split()[0]) / 1024
        for name in (*MEMORY_FIELDS, "VmHWM")
        if name in fields
    }
    memory[FOOTPRINT] = memory.get("RssAnon", 0.0) + memory.get("VmSwap", 0.0)
    return memory


def chromium_processes() -> dict[int, str]:
    """Chromium's processes under this one (through Playwright's driver): pid → its
    ``--type`` (``browser`` for the browser process itself)."""
    parents: dict[int, int] = {}
    kinds: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Chromium's children rewrite their title: one string, arguments spaced.
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if command and command[0].endswith(b"chromium"):
            kind = next((a[7:] for a in command if a.startswith(b"--type=")), b"browser")
            kinds[int(entry.name)] = kind.decode()

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return {pid: kind for pid, kind in kinds.items() if ours(pid)}


class Cdp(Protocol):
    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...


class BareCdp:
    """The DevTools protocol on one page, with nothing enabled but what is asked:
    Playwright turns on the Network domain, and Chromium then keeps every response
    body in the renderer for DevTools (up to its buffer's size), which is not the
    page's memory."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket, self.number = socket, 0

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.number += 1
        await self.socket.send_json({"id": self.number, "method": method, "params": params or {}})
        while True:  # events are not asked for, but skip any
            message = await self.socket.receive_json()
            if message.get("id") == self.number:
                assert "error" not in message, message
                return dict(message["result"])

    async def value(self, expression: str) -> Any:
        got = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        assert "exceptionDetails" not in got, got
        return got["result"].get("value")


@contextlib.asynccontextmanager
async def bare_chromium(folder: Path) -> AsyncIterator[BareCdp]:
    """Chromium with the tests' flags, driven over its DevTools port, not by Playwright."""
    profile = folder / "profile"
    chromium = await asyncio.create_subprocess_exec(
        str(CHROMIUM), *CHROMIUM_ARGS, "--headless", "--remote-debugging-port=0",
        f"--user-data-dir={profile}", "about:blank",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json") as answer:
                targets = await answer.json()
            page = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                yield BareCdp(socket)
    finally:
        chromium.terminate()
        await asyncio.wait_for(chromium.wait(), 30)
        shutil.rmtree(profile, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@dataclass
class MemorySampler:
    """The tab's JS heap and every Chromium process's memory, every SAMPLE_SECONDS.
    Which renderer is the tab's shows only by its work (a new page has a spare
    renderer beside its own): the one that spent the most CPU time in the download."""

    cdp: Cdp
    started: float = field(default_factory=time.perf_counter)
    heap: list[tuple[float, float, float]] = field(default_factory=list)  # t, used, total
    memory: dict[int, list[tuple[float, dict[str, float]]]] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    cpu_at_start: dict[int, float] = field(default_factory=dict)

    async def sample(self) -> None:
        got = await self.cdp.send("Performance.getMetrics")
        metrics = {m["name"]: m["value"] for m in got["metrics"]}
        now = time.perf_counter() - self.started
        self.heap.append((now, metrics["JSHeapUsedSize"] / MiB, metrics["JSHeapTotalSize"] / MiB))
        for pid, kind in chromium_processes().items():
            self.kinds[pid] = kind
            self.cpu_at_start.setdefault(pid, cpu_seconds(pid))
            self.memory.setdefault(pid, []).append((now, memory_mb(pid)))

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), SAMPLE_SECONDS)

    def tab(self) -> int:
        """The renderer that did the download's work (call before the page closes)."""
        work = {
            pid: cpu_seconds(pid) - self.cpu_at_start[pid]
            for pid, kind in self.kinds.items()
            if kind == "renderer"
        }
        return max(work, key=lambda pid: work[pid])

    def first(self, pid: int, name: str) -> float:
        return self.memory[pid][0][1].get(name, 0.0)

    def peak(self, pid: int, name: str) -> float:
        return max(m.get(name, 0.0) for _, m in self.memory[pid])

    def series(self, pid: int, name: str, points: int = 12) -> str:
        """``name`` over the download, at ``points`` moments evenly apart."""
        samples = self.memory[pid]
        step = max(1, len(samples) // points)
        return " ".join(f"{m.get(name, 0.0):.0f}" for _, m in samples[::step])


async def downloading(browser: Browser, link: str) -> tuple[MemorySampler, int, float, float]:
    """Open ``link``, reveal, save to disk while sampling: the sampler, the tab's
    renderer, the seconds from the click to "saved", and that renderer's ``VmHWM``."""
    context = await browser.new_context()
    await context.add_init_script(SAVE_DIALOG)
    landing = await open_landing(context, link)
    sampler = MemorySampler(await context.new_cdp_session(landing))
    await sampler.cdp.send("Performance.enable")
    await reveal(landing)
    await sampler.sample()
    done = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(done))
    started = time.perf_counter()
    await landing.click("#save-button")
    await landing.wait_for_selector(
        f"#file-list li:has-text('{FILE_NAME}: saved'), #download-error:not([hidden])",
        timeout=1_800_000,
    )
    elapsed = time.perf_counter() - started
    done.set()
    await sampling
    assert await landing.is_hidden("#download-error"), await landing.text_content("#download-error")
    assert await landing.evaluate(SAVED_SIZE, FILE_NAME) == DOWNLOAD_MB * MiB
    tab = sampler.tab()
    high_water = memory_mb(tab).get("VmHWM", 0.0)
    await context.close()
    return sampler, tab, elapsed, high_water


async def downloading_bare(folder: Path, link: str) -> tuple[MemorySampler, int, float, float]:
    """The same as ``downloading``, with the page driven over bare DevTools."""
    async with bare_chromium(folder) as cdp:
        await cdp.send("Page.enable")  # addScriptToEvaluateOnNewDocument needs it
        await cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": SAVE_DIALOG})
        await cdp.send("Performance.enable")
        await cdp.send("Page.navigate", {"url": link})
        shown = "(id) => !!document.getElementById(id) && !document.getElementById(id).hidden"

        async def until(expression: str) -> None:
            for _ in range(600):
                if await cdp.value(expression):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"{expression} not true within a minute")

        await until(f"({shown})('reveal-form')")
        await cdp.value("document.getElementById('reveal-button').click()")
        await until(f"({shown})('save-offer') || ({shown})('reveal-error')")
        sampler = MemorySampler(cdp)
        await sampler.sample()
        started = time.perf_counter()
        await cdp.value("document.getElementById('save-button').click()")
        saved = f"document.getElementById('file-list').textContent.includes('{FILE_NAME}: saved')"
        while not await cdp.value(f"{saved} || ({shown})('download-error')"):
            await asyncio.sleep(SAMPLE_SECONDS)
            await sampler.sample()
        elapsed = time.perf_counter() - started
        error = await cdp.value("document.getElementById('download-error').textContent")
        assert await cdp.value(saved), error
        assert await cdp.value(f"({SAVED_SIZE})('{FILE_NAME}')") == DOWNLOAD_MB * MiB
        tab = sampler.tab()
        return sampler, tab, elapsed, memory_mb(tab).get("VmHWM", 0.0)


Download = tuple[MemorySampler, int, float, float]


def report_download(title: str, download: Download) -> tuple[float, float]:
    """One download's figures; returns the tab renderer's peak footprint and RSS."""
    sampler, tab, seconds, high_water = download
    print(f"\nsaving a {DOWNLOAD_MB} MiB file to disk from the open page, {title}: "
          f"{DOWNLOAD_MB / seconds:.2f} MiB/s, download and decrypt")  # fmt: skip
    print(f"{'memory MB, sampled every 100 ms':44} {'before':>9} {'peak':>9}")
    heap_used = [used for _, used, _ in sampler.heap]
    heap_total = [total for _, _, total in sampler.heap]
    print(f"{'tab JS heap used':44} {heap_used[0]:9.2f} {max(heap_used):9.2f}")
    print(f"{'tab JS heap total':44} {heap_total[0]:9.2f} {max(heap_total):9.2f}")
    for name in (FOOTPRINT, *MEMORY_FIELDS):
        label = f"tab renderer {name}"
        print(f"{label:44} {sampler.first(tab, name):9.2f} {sampler.peak(tab, name):9.2f}")
    print(f"{'tab renderer VmHWM (peak between samples too)':44} {'':9} {high_water:9.2f}")
    for kind in ("browser", "utility", "gpu-process"):
        pids = [pid for pid, k in sampler.kinds.items() if k == kind]
        first = sum(sampler.first(pid, "VmRSS") for pid in pids)
        peak = sum(sampler.peak(pid, "VmRSS") for pid in pids)
        print(f"{kind + ' VmRSS (all of them)':44} {first:9.2f} {peak:9.2f}")
    print(f"tab renderer footprint over the download: {sampler.series(tab, FOOTPRINT)}")
    return sampler.peak(tab, FOOTPRINT), max(sampler.peak(tab, "VmRSS"), high_water)


def report(figures: Figures, bare: Download, playwright: Download) -> None:
    print(f"\nburnafter's pages in Chromium ({CHROMIUM}), {os.cpu_count()} cores")
    print(f"\nencrypting a {ENCRYPT_MB} MiB Blob in 1 MiB segments, {ROUNDS} rounds")
    print(f"{'':44} {'median':>9} {'min':>9} {'max':>9}")
    for name, values in figures.values.items():
        print(f"{name:44} {statistics.median(values):9.2f} {min(values):9.2f} "
              f"{max(values):9.2f}")  # fmt: skip
    footprint, rss = report_download("driven over bare DevTools (the measure)", bare)
    report_download("driven by Playwright (DevTools keeps response bodies)", playwright)
    verdict = "met" if footprint < MEMORY_TARGET_MB else "NOT met"
    print(f"\ntab's peak memory footprint (RssAnon + VmSwap) {footprint:.0f} MB: target < "
          f"{MEMORY_TARGET_MB} MB {verdict}; its peak RSS, binary pages shared with every "
          f"Chromium process included, {rss:.0f} MB")  # fmt: skip
    knobs = " ".join(
        f"{name}={os.environ[name]}"
        for name in ("BENCH_BROWSER_MB", "BENCH_BROWSER_DOWNLOAD_MB", "BENCH_ROUNDS")
        if name in os.environ
    )
    print(f"reproduce: {knobs + ' ' if knobs else ''}make bench-browser")


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="burnafter-bench-browser-"))
    folder.chmod(0o755)  # the embedded PostgreSQL may run as another user
    figures = Figures()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_args())
            await encrypting(browser, figures)
            await browser.close()
            with running_pages(folder) as site:
                print(f"sharing {DOWNLOAD_MB} MiB with burnafter send", file=sys.stderr)
                link = share(site, folder)
                print("saving it from the open page, twice", file=sys.stderr, flush=True)
                bare = await downloading_bare(folder, link)
                # A browser of its own: the renderers and the heap start clean.
                browser = await playwright.chromium.launch(**launch_args())
                driven = await downloading(browser, link)
                await browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(figures, bare, driven)


if __name__ == "__main__":
    asyncio.run(main())
