"""The user's terminal: questions asked without echo, a progress line, and how many
columns text takes on it.

Both talk to the terminal only. A prompt reads and writes ``/dev/tty`` (as ``getpass``
and ``ssh`` do), so standard input can carry the secret while the terminal carries
the passphrase. The progress line goes to standard error, only when it is a terminal:
a script that captures it sees no carriage returns."""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import unicodedata
from typing import TextIO

from services.client.translated import N_, _, decimal, percent

_ZERO_WIDTH = ("Mn", "Me", "Cf")  # Unicode categories: combining and format characters


def columns(text: str) -> int:
    """How many columns ``text`` takes on a terminal: two for a wide character
    (Chinese, Japanese, Korean), none for a mark written over or under the one
    before (Thai, Hindi vowels) or an invisible one (Persian's zero-width non-joiner)."""
    return sum(
        0
        if unicodedata.category(char) in _ZERO_WIDTH
        else 2
        if unicodedata.east_asian_width(char) in "WF"
        else 1
        for char in text
    )


def padded(text: str, width: int) -> str:
    """``text`` and spaces to ``width`` columns: what ``f"{text:<{width}}"`` does for
    text of one column a character."""
    return text + " " * max(0, width - columns(text))


class NoTerminal(Exception):
    """There is no terminal to ask on."""


class MoreThanOneLine(Exception):
    """More input was already waiting after the first line: a paste of several lines."""


def _terminal() -> tuple[int, bool]:
    """The controlling terminal, opened; else standard input if it is a terminal.
    Answers the descriptor and whether it is ours to close."""
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY), True
    except OSError:
        if sys.stdin is not None and sys.stdin.isatty():
            return sys.stdin.fileno(), False
    raise NoTerminal


def _read_line(fd: int) -> bytes:
    line = bytearray()
    while not line.endswith(b"\n"):
        chunk = os.read(fd, 4096)
        if not chunk:  # Ctrl-D: the end, on an empty line; else it ends the line
            if not line:
                raise EOFError
            break
        line += chunk
    return bytes(line)


def ask_hidden(prompt: str) -> bytes:
    """Ask on the terminal, without echo, for one line; answer it without its end.

    Raises ``EOFError`` on Ctrl-D on an empty line, ``KeyboardInterrupt`` on Ctrl-C
    (the terminal's echo is restored either way), :class:`MoreThanOneLine` when more
    input is already waiting after the line (whatever waits is discarded, so the
    rest of a paste never reaches the shell), :class:`NoTerminal` without a terminal."""
    fd, ours = _terminal()
    try:
        before = termios.tcgetattr(fd)
        quiet = list(before)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)  # quiet before the prompt shows
        try:
            os.write(fd, prompt.encode())
            line = _read_line(fd)
            more = bool(select.select([fd], [], [], 0)[0])
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, before)  # drops what still waits
        os.write(fd, b"\n")
    finally:
        if ours:
            os.close(fd)
    if more:
        raise MoreThanOneLine
    return line.removesuffix(b"\n").removesuffix(b"\r")


def end_prompt_line() -> None:
    """After Ctrl-C or Ctrl-D at a prompt: end the prompt's line, so the message that
    follows starts on a line of its own."""
    if sys.stderr is not None and sys.stderr.isatty():
        print(file=sys.stderr)


SHOWN_FROM_BYTES = 1_000_000  # smaller transfers are over before a line would help


def _megabytes(count: int) -> str:
    # Translators: a size in MB, as the progress line of a large transfer writes it.
    return _("%(size)s MB") % {"size": decimal(count / 1_000_000, 1)}


# What each phase of a transfer shows, its size and (moving bytes) how far it is.
_PHASE_WORDS = {
    "encrypting": N_("encrypting %(size)s..."),
    "decrypting": N_("decrypting %(size)s..."),
    # Translators: %(percent)s is how much went up, such as " 42%".
    "uploading": N_("uploading %(size)s %(percent)s"),
    # Translators: %(percent)s is how much came down, such as " 42%".
    "downloading": N_("downloading %(size)s %(percent)s"),
}


class ProgressLine:
    """``encrypting 12.3 MB...``, ``uploading 12.3 MB  42%``: one line on standard
    error, rewritten in place at most ten times a second, and erased by :meth:`clear`.
    Only when standard error is a terminal, and only for ``SHOWN_FROM_BYTES`` or more."""

    def __init__(self, stream: TextIO | None = None) -> None:
        stream = sys.stderr if stream is None else stream
        self.enabled = stream is not None and stream.isatty()
        self._stream: TextIO = stream
        self._shown = ""
        self._phase = ""
        self._at = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total < SHOWN_FROM_BYTES:
            return
        words = _(_PHASE_WORDS[phase]) if phase in _PHASE_WORDS else f"{phase} %(size)s..."
        text = words % {
            "size": _megabytes(total),
            "percent": percent(min(100, done * 100 // total)),
        }
        now = time.monotonic()
        same_phase = self._phase == phase
        if text == self._shown or (same_phase and done < total and now - self._at < 0.1):
            return
        self._draw(text)
        self._phase = phase
        self._at = now

    def _draw(self, text: str) -> None:
        pad = max(0, len(self._shown) - len(text))
        self._stream.write("\r" + text + " " * pad)
        self._stream.flush()
        self._shown = text

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r" + " " * len(self._shown) + "\r")
            self._stream.flush()
            self._shown = ""
            self._phase = ""
