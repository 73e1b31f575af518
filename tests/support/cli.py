"""Running the ``burnafter`` command as a user would."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import select
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Sequence
from pathlib import Path

from services.client.links import Link, parse_link
from tests.support.leaks import LEAK_WATCH

BIN = Path(sys.executable).parent
# The checkout these tests belong to: the command under test imports its code from
# here, wherever the virtualenv's editable install points (another checkout, or a
# git worktree of an older commit that these tests are run against).
CHECKOUT = Path(__file__).resolve().parents[2]


def cli_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """A user's minimal environment (no ``BURNAFTER_*`` of the test runner's own),
    with ``env`` on top."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(CHECKOUT), **(env or {})}


def run_cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the ``burnafter`` command as a user would (blocking)."""
    return subprocess.run(
        [str(BIN / "burnafter"), *args],
        input=stdin,
        capture_output=True,
        env=cli_environment(env),
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The CLI, run without blocking the event loop that serves the in-process api."""
    return await asyncio.to_thread(run_cli, *args, stdin=stdin, env=env, cwd=cwd)


# Runs the command and writes its peak resident memory (KiB) into the file argv[1].
_MEASURED = """\
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
sys.exit(max(0, os.waitstatus_to_exitcode(status)))
"""


def run_cli_measured(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """:func:`run_cli`, and the command's peak resident memory in bytes.

    Measured by a small Python process that starts the command and reaps it with
    ``wait4``: Linux keeps in ``ru_maxrss`` the high-water mark of the memory a
    process had before its ``exec``, so a command forked straight from this test
    process (holding test data) would report this process's size, not its own."""
    with tempfile.TemporaryDirectory() as folder:
        peak = Path(folder) / "peak"
        result = subprocess.run(
            [sys.executable, "-c", _MEASURED, str(peak), str(BIN / "burnafter"), *args],
            input=stdin,
            capture_output=True,
            env=cli_environment(env),
            cwd=cwd,
            timeout=300,
            check=False,
        )
        kib = int(peak.read_text())
    result.args = ["burnafter", *args]
    return result, kib * 1024  # Linux counts it in KiB


async def cli_measured(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """:func:`run_cli_measured`, without blocking the event loop of the api."""
    return await asyncio.to_thread(run_cli_measured, *args, stdin=stdin, env=env, cwd=cwd)


def watch_cli_links(
    stdout: bytes, stderr: bytes, passphrase: str | None = None
) -> tuple[Link, Link]:
    """Note the keys of the links that ``burnafter send`` printed; return both links."""
    share = parse_link(stdout.decode().strip(), "s")
    receipt = parse_link(stderr.decode().strip().rpartition(" ")[2], "r")
    LEAK_WATCH.add_share_link(share, passphrase)
    LEAK_WATCH.add_receipt_link(receipt)
    return share, receipt


def _take_the_terminal() -> None:
    """In the child, after ``setsid``: make its standard error (the pty) its
    controlling terminal, as a login shell's is, so ``/dev/tty`` is that pty."""
    fcntl.ioctl(2, termios.TIOCSCTTY, 0)


def _read_screen(
    master: int, screen: bytearray, until: bytes | None, deadline: float, start: int = 0
) -> None:
    """Read what the terminal shows into ``screen`` until ``until`` appears in it
    (from ``start`` on), or the terminal closes (every holder of its other end has
    gone), or ``deadline``."""
    while until is None or until not in screen[start:]:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([master], [], [], left)[0]:
            raise TimeoutError(f"the terminal showed no {until!r} in time: {bytes(screen)!r}")
        try:
            chunk = os.read(master, 4096)
        except OSError as exc:  # EIO: the terminal is closed
            if exc.errno != errno.EIO:
                raise
            return
        if not chunk:
            return
        screen += chunk


def run_cli_in_terminal(
    *args: str,
    prompt: bytes | None = None,
    typed: bytes = b"",
    answers: Sequence[tuple[bytes, bytes]] = (),
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """Run ``burnafter`` on a fresh pseudo-terminal (its controlling terminal, and its
    standard output and error; its standard input too, unless ``stdin`` is given,
    which is then piped in). For each ``(prompt, typed)`` of ``prompt``/``typed`` and
    ``answers``, in turn: wait until the terminal shows ``prompt`` (after what was
    shown before), then type ``typed``. Then read the screen to the end. Answers the
    exit code and all the terminal showed, echo included. A prompt that never comes
    stops the typing: its answer and the later ones are not typed."""
    deadline = time.monotonic() + timeout
    steps = [*([(prompt, typed)] if prompt is not None else []), *answers]
    master, slave = os.openpty()
    with tempfile.TemporaryFile() as piped:
        if stdin is not None:
            piped.write(stdin)
            piped.seek(0)
        try:
            process = subprocess.Popen(
                [str(BIN / "burnafter"), *args],
                stdin=slave if stdin is None else piped,
                stdout=slave,
                stderr=slave,
                env=cli_environment({"TERM": "dumb", **(env or {})}),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_take_the_terminal,  # noqa: PLW1509 - only an ioctl, no locks
            )
        finally:
            os.close(slave)
    screen = bytearray()
    try:
        for expected, answer in steps:
            seen = len(screen)
            _read_screen(master, screen, expected, deadline, seen)
            if expected not in screen[seen:]:
                break
            os.write(master, answer)
        _read_screen(master, screen, None, deadline)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
        returncode = process.wait(timeout)
    return returncode, bytes(screen)


async def cli_in_terminal(
    *args: str,
    prompt: bytes | None = None,
    typed: bytes = b"",
    answers: Sequence[tuple[bytes, bytes]] = (),
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[int, bytes]:
    """:func:`run_cli_in_terminal`, without blocking the event loop of the api."""
    return await asyncio.to_thread(
        run_cli_in_terminal,
        *args,
        prompt=prompt,
        typed=typed,
        answers=answers,
        stdin=stdin,
        env=env,
        cwd=cwd,
    )
