"""Loopback helpers shared by the tests, the benchmarks and the tools."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import time
import urllib.request

# Ports handed out below the kernel's ephemeral range (32768-60999 on Linux), in a
# block of their own for each pytest-xdist worker. A port the kernel picks for
# ``bind(("", 0))`` is free only until it is used: another worker could be given the
# same one, or a client connection could take it, before the server meant for it
# listens, and a test would then talk to somebody else's server. That is the likely
# story of a CI run in which ``burnafter dev`` died of the SIGTERM its test sent
# after its checks passed: the checks had reached another worker's server, while
# the dev server, still migrating, had no handler for SIGTERM yet.
_FIRST_PORT = 20000
_BLOCK = 1400
_BLOCKS = 9  # 20000-32599


def _block() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        return int(worker[2:]) % (_BLOCKS - 1)
    return _BLOCKS - 1  # one process outside xdist: a benchmark, a smoke tool


# From a random place in the block: two suites on one machine do not walk it in step.
_NEXT = itertools.count(random.randrange(_BLOCK))  # noqa: S311 - not a secret


def free_port() -> int:
    """A loopback port nobody listens on, never handed out twice in a row of
    ``_BLOCK`` calls by this process, nor by another xdist worker (of the first
    eight)."""
    start = _FIRST_PORT + _block() * _BLOCK
    for _ in range(_BLOCK):
        port = start + next(_NEXT) % _BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or still in TIME_WAIT
            return port
    raise RuntimeError(f"no free port in {start}-{start + _BLOCK - 1}")


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
