"""The leak watch: secret material the suite handled, and the search for it in
logs, metrics scrapes and databases, in raw, hex and base64 forms.

Each process of the suite (each pytest-xdist worker) has its own watch and checks its
own material at the end of its session (``tests/conftest.py``). The search indexes
every encoded form of every needle once and reads each haystack once
(:class:`NeedleIndex`), so it costs about the size of the haystacks, not needles x
forms x haystacks."""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from services.client.links import Link
from services.protocol import envelope
from services.protocol.envelope import SecretKeys


@dataclass
class LeakWatch:
    """Secret material the suite handled: none of it may show up in logs or the DB."""

    needles: dict[str, bytes] = field(default_factory=dict)
    log_files: list[Path] = field(default_factory=list)
    database_urls: list[str] = field(default_factory=list)
    metrics_texts: list[str] = field(default_factory=list)
    # Secret ids and ciphertext belong in the database, never in logs or metrics.
    secret_ids: list[str] = field(default_factory=list)
    ciphertexts: list[bytes] = field(default_factory=list)

    def add_ciphertext(self, ciphertext: bytes) -> None:
        """Watch a 48-byte slice at a 3-byte boundary: its raw, hex and base64 forms
        are substrings of the whole ciphertext's."""
        self.ciphertexts.append(ciphertext[3:51])

    def add(self, what: str, value: bytes | str) -> None:
        raw = value.encode() if isinstance(value, str) else value
        assert len(raw) >= 12, f"a {what} this short cannot be searched for without noise"
        self.needles[f"{what}#{len(self.needles)}"] = raw

    def add_share_link(self, link: Link, passphrase: str | None = None) -> SecretKeys:
        keys = envelope.derive_secret_keys(link.key, passphrase)
        self.add("link key", link.key)
        self.add("claim", keys.claim)
        if keys.unlock is not None:
            self.add("unlock", keys.unlock)
        return keys

    def add_receipt_link(self, link: Link) -> None:
        self.add("receipt key", link.key)
        self.add("manage", envelope.derive_receipt_keys(link.key).manage)

    def telemetry_needles(self) -> dict[str, bytes]:
        """What must not be in logs or metrics: the needles, and secret ids and
        ciphertext too."""
        return {
            **self.needles,
            **{f"secret id#{n}": i.encode() for n, i in enumerate(self.secret_ids)},
            **{f"ciphertext#{n}": c for n, c in enumerate(self.ciphertexts)},
        }


LEAK_WATCH = LeakWatch()


def encodings(needle: bytes) -> dict[str, bytes]:
    return {
        "raw": needle,
        "hex": needle.hex().encode(),
        "HEX": needle.hex().upper().encode(),
        "base64": base64.b64encode(needle).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(needle).rstrip(b"="),
    }


class NeedleIndex:
    """Every encoded form of every needle, indexed so that one pass over a haystack
    finds each of them.

    All indexed forms are at least ``shortest`` bytes long. The pass looks at one
    ``WINDOW``-byte slice every ``stride = shortest - WINDOW + 1`` bytes: any
    occurrence of a form covers one such slice, at an offset below ``stride`` inside
    the form. The index maps each form's slices at those offsets to the form; a hit
    is confirmed by comparing the whole form. Forms shorter than the window are
    searched for one by one (none of the suite's needles is)."""

    WINDOW = 8

    def __init__(self, needles: dict[str, bytes]) -> None:
        forms = [
            (f"{name} ({form})", encoded)
            for name, needle in needles.items()
            for form, encoded in encodings(needle).items()
        ]
        self.short = [(label, e) for label, e in forms if len(e) < self.WINDOW]
        long = [(label, e) for label, e in forms if len(e) >= self.WINDOW]
        shortest = min((len(e) for _, e in long), default=self.WINDOW)
        self.stride = shortest - self.WINDOW + 1
        table: dict[bytes, list[tuple[int, str, bytes]]] = defaultdict(list)
        for label, encoded in long:
            for offset in range(self.stride):
                table[encoded[offset : offset + self.WINDOW]].append((offset, label, encoded))
        self.table = dict(table)
        self.forms = len(forms)

    def scan(self, haystack: bytes) -> list[str]:
        found = {label for label, encoded in self.short if encoded in haystack}
        if not self.table:
            return sorted(found)
        get, window = self.table.get, self.WINDOW
        for at in range(0, len(haystack) - window + 1, self.stride):
            hits = get(haystack[at : at + window])
            if hits:
                for offset, label, encoded in hits:
                    start = at - offset
                    if start >= 0 and haystack.startswith(encoded, start):
                        found.add(label)
        return sorted(found)


def find_leaks(haystack: bytes, needles: dict[str, bytes]) -> list[str]:
    """The needles (and the form) found in ``haystack``, as ``"name (form)"``."""
    return NeedleIndex(needles).scan(haystack)


USER_TABLES = """
    SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    ORDER BY 1
"""


async def database_text(url: str) -> tuple[list[str], bytes]:
    """Every user table of the database, as read from the catalog, and all their rows
    as text (bytea as hex)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [r["name"] for r in await conn.fetch(USER_TABLES)]
        parts = []
        for table in tables:
            rows = await conn.fetch(f"SELECT t::text AS row FROM {table} t")  # noqa: S608
            parts += [table, *(r["row"] for r in rows)]
        return tables, "\n".join(parts).encode()
    finally:
        await conn.close()


@dataclass
class LeakReport:
    leaks: dict[str, list[str]]  # where -> needles found there, only places with a find
    needles: int = 0
    log_bytes: int = 0
    log_files: int = 0
    metrics_texts: int = 0
    databases: int = 0
    tables: set[str] = field(default_factory=set)


async def search_everything(watch: LeakWatch, parallel: int = 4) -> LeakReport:
    """Search every log file, metrics scrape and database the watch knows of."""
    telemetry = NeedleIndex(watch.telemetry_needles())
    stored = NeedleIndex(watch.needles)
    report = LeakReport({}, needles=telemetry.forms)
    found: dict[str, list[str]] = {}

    def scan_logs(paths: Iterable[Path]) -> None:
        for path in dict.fromkeys(paths):
            if path.exists():
                data = path.read_bytes()
                report.log_files += 1
                report.log_bytes += len(data)
                found[str(path)] = telemetry.scan(data)

    await asyncio.to_thread(scan_logs, list(watch.log_files))
    for n, text in enumerate(list(watch.metrics_texts)):
        found[f"metrics scrape {n}"] = telemetry.scan(text.encode())
        report.metrics_texts += 1

    limit = asyncio.Semaphore(parallel)

    async def search_database(url: str) -> None:
        async with limit:
            tables, text = await database_text(url)
        report.tables.update(tables)
        report.databases += 1
        found[url] = await asyncio.to_thread(stored.scan, text)

    await asyncio.gather(*(search_database(url) for url in dict.fromkeys(watch.database_urls)))
    report.leaks = {where: labels for where, labels in found.items() if labels}
    return report
