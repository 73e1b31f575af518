"""Loopback helpers shared by the tests, the benchmarks and the tools."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


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
            time.sleep(0.02)  # a poll period: the wait ends as soon as it answers
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")
