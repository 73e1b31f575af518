"""Helpers shared by the tests: making secrets the way a client does (and noting
their secret material for the leak check), and running the CLI."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from services.client.api_client import prepare_secret
from services.client.links import Link, parse_link
from services.common import envelope
from services.common.envelope import Payload, SecretKeys, b64u_decode, b64u_encode

BIN = Path(sys.executable).parent


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


LEAK_WATCH = LeakWatch()


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def secret_passphrase() -> str:
    """A passphrase unique to one test, watched for leaks."""
    return f"passphrase-{secrets.token_hex(8)}"


def secret_text() -> str:
    """A plaintext unique to one test, watched for leaks."""
    text = f"plaintext-{secrets.token_hex(12)}"
    LEAK_WATCH.add("plaintext", text)
    return text


@dataclass(frozen=True)
class MadeSecret:
    """A secret sealed as a client would, before it is posted."""

    body: dict[str, Any]
    text: str
    link_key: bytes
    keys: SecretKeys
    manage: bytes
    passphrase: str | None

    def claim_body(self) -> dict[str, str]:
        return {"claim": b64u_encode(self.keys.claim)}

    def reveal_body(self, passphrase: str | None = None) -> dict[str, str]:
        body = self.claim_body()
        unlock = (
            self.keys.unlock
            if passphrase is None
            else envelope.derive_secret_keys(self.link_key, passphrase).unlock
        )
        if unlock is not None:
            body["unlock"] = b64u_encode(unlock)
        return body

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {b64u_encode(self.manage)}"}


def make_secret(
    passphrase: str | None = None, label: str | None = None, **fields: Any
) -> MadeSecret:
    """Seal a fresh text as the client does; ``fields`` go into the body as they are."""
    text = secret_text()
    prepared = prepare_secret(Payload(text=text), passphrase=passphrase, label=label)
    for what, value in [
        ("link key", prepared.link_key),
        ("claim", prepared.keys.claim),
        ("unlock", prepared.keys.unlock),
        ("passphrase", passphrase),
        ("label", label),
        ("receipt key", prepared.receipt_key),
        ("manage", prepared.receipt_keys.manage),
    ]:
        if value:
            LEAK_WATCH.add(what, value)
    LEAK_WATCH.add_ciphertext(b64u_decode(prepared.body["ciphertext"]))
    return MadeSecret(
        {**prepared.body, **fields},
        text,
        prepared.link_key,
        prepared.keys,
        prepared.receipt_keys.manage,
        passphrase,
    )


def run_cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the ``burnafter`` command as a user would (blocking)."""
    environment = {"PATH": os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(
        [str(BIN / "burnafter"), *args],
        input=stdin,
        capture_output=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The CLI, run without blocking the event loop that serves the in-process api."""
    return await asyncio.to_thread(run_cli, *args, stdin=stdin, env=env, cwd=cwd)


def watch_cli_links(
    stdout: bytes, stderr: bytes, passphrase: str | None = None
) -> tuple[Link, Link]:
    """Note the keys of the links that ``burnafter send`` printed; return both links."""
    share = parse_link(stdout.decode().strip(), "s")
    receipt = parse_link(stderr.decode().strip().rpartition(" ")[2], "r")
    LEAK_WATCH.add_share_link(share, passphrase)
    LEAK_WATCH.add_receipt_link(receipt)
    return share, receipt


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(
    url: str, process: subprocess.Popen[bytes] | None = None, seconds: float = 20.0
) -> None:
    """Wait until ``GET url`` answers 200; fail at once if ``process`` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")
