"""``burnafter send`` and ``open`` in protocol v2 (issue 15): a content sealed in
segments, streamed in constant memory, resumed after a broken connection; a small
secret still one request each way; v1 links still open. The CLI against a running
api on real PostgreSQL, each request the api answers counted by its route."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.typedefs import Middleware

from services.cli.client_commands import ExitCode
from services.client.api_client import Api, prepare_secret
from services.client.contents import DOWNLOAD_WINDOW
from services.client.links import make_link
from services.protocol.content import UPLOAD_WINDOW
from services.protocol.envelope import Payload, SecretFile
from tests.support.cli import cli, cli_measured, watch_cli_links
from tests.support.fixtures_types import AiohttpClient
from tests.support.leaks import LEAK_WATCH
from tests.support.proxy import CuttingProxy, Direction
from tests.support.sealing import secret_passphrase, secret_text
from tests.support.services import make_settings

SEGMENT = 4096  # small, so that a few hundred KB cross many segments


@dataclass
class CountedApi:
    """An in-process api, and the route of every request it answered, in order."""

    url: str
    port: int
    answered: list[str] = field(default_factory=list)
    reading: int = 0  # segment GETs the api is answering now
    most_reading: int = 0
    read_order: list[int] = field(default_factory=list)  # segment indexes, as answered
    most_writing: int = 0  # segment PUTs held at once (with hold_puts)

    def take(self) -> list[str]:
        """The routes answered since the last take."""
        taken, self.answered[:] = list(self.answered), []
        return taken


MakeApi = Callable[..., Awaitable[CountedApi]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
StartProxy = Callable[..., Awaitable[CuttingProxy]]


def holding_puts(counted: CountedApi) -> Middleware:
    """Answer segment PUTs only once four wait (or after half a second, for the last
    few): a client that waits for each answer before its next PUT has only ever one
    held. ``counted.most_writing`` says how many were held at once."""
    held: list[asyncio.Event] = []

    @web.middleware
    async def hold(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.route.name != "put_segment":
            return await handler(request)
        released = asyncio.Event()
        held.append(released)
        counted.most_writing = max(counted.most_writing, len(held))
        if len(held) == 4:
            for each in held:
                each.set()
            held.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(released.wait(), 0.5)
        if released in held:
            held.remove(released)
        return await handler(request)

    return hold


@pytest.fixture
def counted_api(aiohttp_client: AiohttpClient, database_url: str, test_log: Path) -> MakeApi:
    """Make an api with settings of the test's choosing that notes the route of each
    response it starts (``on_response_prepare`` fires for the /api sub-app too), and
    how many segment GETs it answers at once; ``read_delay(index)`` holds each one
    back that many seconds first, ``hold_puts`` the segment PUTs (``holding_puts``)."""

    async def make(
        read_delay: Callable[[int], float] | None = None, hold_puts: bool = False, **env: str
    ) -> CountedApi:
        from services.api.app import create_app

        app = create_app(make_settings(database_url, **env))
        counted = CountedApi("", 0)

        async def note(request: web.Request, response: web.StreamResponse) -> None:
            counted.answered.append(request.match_info.route.name or request.path)

        @web.middleware
        async def gauge(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.match_info.route.name != "read_segment":
                return await handler(request)
            counted.reading += 1
            counted.most_reading = max(counted.most_reading, counted.reading)
            try:
                index = int(request.match_info["index"])
                if read_delay is not None:
                    await asyncio.sleep(read_delay(index))
                answer = await handler(request)
                counted.read_order.append(index)
                return answer
            finally:
                counted.reading -= 1

        app.on_response_prepare.append(note)
        app.middlewares.append(gauge)
        if hold_puts:
            app.middlewares.append(holding_puts(counted))
        client = await aiohttp_client(app)
        assert client.server.port is not None
        counted.url, counted.port = str(client.make_url("")).rstrip("/"), client.server.port
        return counted

    return make


@pytest.fixture
async def proxies() -> AsyncIterator[StartProxy]:
    """A proxy to the api that breaks the connection after ``cut_after`` bytes going
    ``direction``, and breaks aiohttp's own immediate retry too (see CuttingProxy)."""
    started: list[CuttingProxy] = []

    async def start(
        port: int, direction: Direction, cut_after: int, times: int = 2
    ) -> CuttingProxy:
        proxy = CuttingProxy(port, direction, cut_after, times=times)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        await proxy.close()


def _random_file(folder: Path, name: str, size: int) -> tuple[Path, str]:
    data = os.urandom(size)
    LEAK_WATCH.add("file", data[:64])
    path = folder / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def test_a_short_secret_is_one_request_each_way(counted_api: MakeApi) -> None:
    api = await counted_api()
    text = secret_text()
    sent = await cli("send", "--server", api.url, stdin=text.encode())
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    # The limits (the segment size and the size limit), then the secret: one create,
    # with its one segment inline, live at once.
    assert api.take() == ["limits", "create_content"]
    opened = await cli("open", stdin=f"{share}\n".encode())
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"
    assert api.take() == ["reveal_secret"]  # no download grant, nothing to close


async def test_files_of_many_segments_come_back_whole(
    counted_api: MakeApi, tmp_path: Path, db: asyncpg.Connection
) -> None:
    api = await counted_api(SEGMENT_SIZE=str(SEGMENT))
    big, big_digest = _random_file(tmp_path, "dump.sql", 300_000)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    text = secret_text()
    sent = await cli(
        "send", "--server", api.url, "--file", str(big), "--file", str(empty), stdin=text.encode()
    )
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    count = await db.fetchval("SELECT segment_count FROM contents")
    assert count > 70  # 300 KB in 4 KiB segments
    up = Counter(api.take())
    assert up == {"limits": 1, "create_content": 1, "put_segment": count - 1, "finalize": 1}
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out), "--json")
    assert opened.returncode == 0, opened.stderr
    result = json.loads(opened.stdout)
    assert result["text"] == text
    assert result["files"] == [
        {"name": "dump.sql", "path": str(out / "dump.sql"), "bytes": 300_000},
        {"name": "empty.txt", "path": str(out / "empty.txt"), "bytes": 0},
    ]
    assert _digest(out / "dump.sql") == big_digest
    assert (out / "empty.txt").read_bytes() == b""
    assert sorted(path.name for path in out.iterdir()) == ["dump.sql", "empty.txt"]
    down = Counter(api.take())
    assert down == {"reveal_secret": 1, "read_segment": count - 1, "downloaded": 1}
    # The grant closed, the view spent: the content is released, which nothing can
    # read, for the reaper to delete (more than 16 segments: not in the request).
    assert await db.fetchval("SELECT state FROM contents") == "released"


async def test_a_download_keeps_four_segments_in_flight_and_opens_them_in_order(
    counted_api: MakeApi, tmp_path: Path, db: asyncpg.Connection
) -> None:
    # Each GET held back, the later of each four the shorter: answers come back out of
    # order, and a client that asks one at a time would never have two open.
    api = await counted_api(
        read_delay=lambda index: 0.01 * (3 - index % 4), SEGMENT_SIZE=str(SEGMENT)
    )
    big, digest = _random_file(tmp_path, "backup.tar", 200_000)
    sent = await cli("send", "--server", api.url, "--file", str(big))
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    count = await db.fetchval("SELECT segment_count FROM contents")
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert _digest(out / "backup.tar") == digest  # each segment opens only in its place
    assert DOWNLOAD_WINDOW == 4
    assert api.most_reading == DOWNLOAD_WINDOW
    assert sorted(api.read_order) == list(range(1, count))  # each asked for once
    assert api.read_order != sorted(api.read_order)


async def test_an_upload_keeps_four_segments_in_flight(
    counted_api: MakeApi, tmp_path: Path, db: asyncpg.Connection
) -> None:
    api = await counted_api(hold_puts=True, SEGMENT_SIZE=str(SEGMENT))
    big, digest = _random_file(tmp_path, "backup.tar", 100_000)
    sent = await cli("send", "--server", api.url, "--file", str(big))
    assert sent.returncode == 0, sent.stderr
    assert UPLOAD_WINDOW == 4
    assert api.most_writing == UPLOAD_WINDOW
    up = Counter(api.take())
    count = await db.fetchval("SELECT segment_count FROM contents")
    # Each segment sent once: none refused past the server's window, nothing resumed.
    assert (up["put_segment"], up["upload_state"], up["finalize"]) == (count - 1, 0, 1)
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert _digest(out / "backup.tar") == digest


async def test_a_v1_secret_still_opens(base_url: str, tmp_path: Path) -> None:
    """A link made by an older client (protocol v1, one ciphertext) opens with this one."""
    text, data = secret_text(), os.urandom(3000)
    words = secret_passphrase()
    payload = Payload(text, (SecretFile("notes.bin", "application/octet-stream", data),))
    prepared = prepare_secret(payload, passphrase=words, max_views=2)
    async with Api(base_url) as api:
        created = await api.create(prepared.body)
    share = make_link(base_url, "s", created["id"], prepared.link_key)
    LEAK_WATCH.add_share_link(share, words)
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(words + "\n")
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli(
        "open", "--output-dir", str(out), "--passphrase-file", str(passphrase_file),
        stdin=f"{share}\n".encode(),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == text.encode() + b"\n"
    assert (out / "notes.bin").read_bytes() == data
    assert opened.stderr == f"wrote {out / 'notes.bin'}\n".encode() + (
        b"1 view left: it can be viewed once more\n"
    )


async def test_an_upload_cut_in_the_middle_resumes(
    counted_api: MakeApi,
    proxies: StartProxy,
    tmp_path: Path,
) -> None:
    api = await counted_api(SEGMENT_SIZE=str(SEGMENT))
    # Cut in segments' PUTs, not the create: each of the four in flight, and the one
    # try again aiohttp makes of each by itself, so the failure reaches the client.
    cuts = 2 * UPLOAD_WINDOW
    proxy = await proxies(api.port, "up", 150_000, times=cuts)
    through = await proxy.start()
    big, digest = _random_file(tmp_path, "backup.tar", 400_000)
    sent = await cli("send", "--server", through, "--file", str(big))
    assert sent.returncode == 0, sent.stderr
    assert proxy.cuts == cuts
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    up = Counter(api.take())
    # Asked where the server stood after the cut, and finalized once.
    assert (up["create_content"], up["finalize"]) == (1, 1)
    assert up["upload_state"] >= 1
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out))
    assert opened.returncode == 0, opened.stderr
    assert _digest(out / "backup.tar") == digest


async def test_a_download_cut_in_the_middle_resumes(
    counted_api: MakeApi,
    proxies: StartProxy,
    tmp_path: Path,
    db: asyncpg.Connection,
) -> None:
    api = await counted_api(SEGMENT_SIZE=str(SEGMENT))
    big, digest = _random_file(tmp_path, "backup.tar", 400_000)
    sent = await cli("send", "--server", api.url, "--file", str(big))
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    count = await db.fetchval("SELECT segment_count FROM contents")
    api.take()
    proxy = await proxies(api.port, "down", 200_000)
    through = make_link(await proxy.start(), "s", share.id, share.key)
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", "--output-dir", str(out), stdin=f"{through}\n".encode())
    assert opened.returncode == 0, opened.stderr
    assert proxy.cuts == 2
    assert _digest(out / "backup.tar") == digest
    down = Counter(api.take())
    # One view spent; every segment asked for once, and the cut one twice more.
    assert down == {"reveal_secret": 1, "read_segment": count - 1 + 2, "downloaded": 1}
    assert sorted(path.name for path in out.iterdir()) == ["backup.tar"]


async def test_a_content_that_does_not_open_whole_leaves_no_file(
    counted_api: MakeApi, tmp_path: Path, db: asyncpg.Connection
) -> None:
    api = await counted_api(SEGMENT_SIZE=str(SEGMENT))
    big, _ = _random_file(tmp_path, "backup.tar", 100_000)
    sent = await cli("send", "--server", api.url, "--file", str(big))
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    # Segment 9 swapped with segment 3: each authenticates only in its own place.
    await db.execute(
        "UPDATE segments SET data = (SELECT data FROM segments WHERE index = 3) WHERE index = 9"
    )
    out = tmp_path / "out"
    out.mkdir()
    opened = await cli("open", str(share), "--output-dir", str(out))
    assert opened.returncode == ExitCode.ERROR
    assert opened.stderr == (
        b"burnafter: segment 9 does not authenticate: tampered, out of order, "
        b"or another content's\n"
    )
    assert list(out.iterdir()) == []  # neither the file nor its partial
    # The CLI closed the download grant: the server let the content go at once
    # (released for the reaper: it has more than 16 segments).
    assert await db.fetchval("SELECT state FROM contents") == "released"


async def test_over_the_limit_nothing_is_sent_and_the_limit_is_named(
    counted_api: MakeApi, tmp_path: Path, db: asyncpg.Connection
) -> None:
    # 8 KiB: the text, the files and their names and types together, "8.0 KB" as
    # the page says it.
    api = await counted_api(MAX_CONTENT_BYTES="8192")
    big, _ = _random_file(tmp_path, "dump.sql", 10_000)
    sent = await cli("send", "--server", api.url, "--file", str(big))
    assert sent.returncode == ExitCode.ERROR
    assert sent.stderr == (
        b"burnafter: too large to send with the rest: dump.sql (9.8 KB); "
        b"this server takes at most 8.0 KB in all (text and files)\n"
    )
    text = await cli("send", "--server", api.url, stdin=b"x" * 9000)
    assert text.stderr == (
        b"burnafter: the text (8.8 KB) is too large: this server takes at most 8.0 KB in all\n"
    )
    assert api.take() == ["limits", "limits"]  # asked the limit, and sent nothing
    assert await db.fetchval("SELECT count(*) FROM contents") == 0


async def test_a_file_from_a_pipe_is_sent(base_url: str, tmp_path: Path) -> None:
    """``--file /dev/stdin`` has no size to stat and cannot be read twice: it is read
    whole first, as before protocol v2."""
    data = os.urandom(20_000)
    LEAK_WATCH.add("file", data[:64])
    sent = await cli("send", "--server", base_url, "--file", "/dev/stdin", stdin=data)
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    opened = await cli("open", str(share), "--output-dir", str(tmp_path))
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "stdin").read_bytes() == data


MEMORY_LIMIT = 100 * 1024 * 1024


async def test_a_64_mib_file_is_sent_and_opened_in_constant_memory(
    counted_api: MakeApi, tmp_path: Path
) -> None:
    api = await counted_api(SEGMENT_SIZE=str(64 * 1024))  # a thousand segments each way
    big, digest = _random_file(tmp_path, "disk.img", 64 * 1024 * 1024)
    sent, sent_peak = await cli_measured("send", "--server", api.url, "--file", str(big))
    assert sent.returncode == 0, sent.stderr
    share, _ = watch_cli_links(sent.stdout, sent.stderr)
    out = tmp_path / "out"
    out.mkdir()
    opened, opened_peak = await cli_measured(
        "open", "--output-dir", str(out), stdin=f"{share}\n".encode()
    )
    assert opened.returncode == 0, opened.stderr
    assert _digest(out / "disk.img") == digest
    assert sent_peak < MEMORY_LIMIT, f"send peaked at {sent_peak / 2**20:.0f} MiB"
    assert opened_peak < MEMORY_LIMIT, f"open peaked at {opened_peak / 2**20:.0f} MiB"
