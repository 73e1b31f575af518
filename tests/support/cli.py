"""Running the ``burnafter`` command as a user would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from services.client.links import Link, parse_link
from tests.support.leaks import LEAK_WATCH

BIN = Path(sys.executable).parent


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
