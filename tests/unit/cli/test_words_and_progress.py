"""The words of the CLI, the newline rule, and the progress line (issue 14)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from services.cli.client_commands import (
    attempts_left,
    describe_receipt,
    moment,
    strip_final_newline,
    views_left,
)
from services.cli.terminal import ProgressLine


@pytest.mark.parametrize(
    ("piped", "secret"),
    [
        ("s\n", "s"),
        ("s", "s"),
        ("s\r\n", "s"),
        ("s\n\n", "s\n"),
        ("s\r", "s\r"),  # not a line end on its own (but "s\r\n" would lose it)
        ("\n", ""),
        ("", ""),
    ],
)
def test_one_final_newline_is_taken_off(piped: str, secret: str) -> None:
    assert strip_final_newline(piped) == secret
    # ``open`` prints the secret and a newline: sent again, it is the same secret
    # (unless it ends with a carriage return, taken for half of a CRLF).
    if not secret.endswith("\r"):
        assert strip_final_newline(secret + "\n") == secret


def test_counts_in_words() -> None:
    assert [attempts_left(n) for n in (1, 2)] == ["1 attempt left", "2 attempts left"]
    assert [views_left(n) for n in (0, 1, 2)] == ["0 views left", "1 view left", "2 views left"]


def test_a_moment_as_a_person_reads_it() -> None:
    assert moment("2026-11-30T15:20:59.123456Z") == "2026-11-30 15:20 UTC"
    assert moment("2026-11-30T16:20:00+01:00") == "2026-11-30 15:20 UTC"
    assert moment("soon") == "soon"


def _receipt(**fields: Any) -> dict[str, Any]:
    return {
        "state": "active", "label": None, "views": 0, "max_views": 1, "passphrase": False,
        "failed_attempts": 0, "max_attempts": 5, "created_at": "c", "expires_at": "e",
        "ended_at": None, "events": [], "notify": [], "notifications": [], **fields,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "state", "views"),
    [
        ({}, "active", "not viewed, 1 view left"),
        ({"views": 1, "max_views": 3}, "active", "viewed once, 2 views left"),
        ({"state": "viewed", "views": 3, "max_views": 3}, "viewed", "viewed 3 times"),
        ({"state": "revoked"}, "revoked by its sender", "not viewed"),
        ({"state": "expired", "views": 1, "max_views": 2}, "expired", "viewed once"),
        ({"state": "locked"}, "destroyed after too many wrong passphrases", "not viewed"),
    ],
)
def test_a_receipt_in_words(fields: dict[str, Any], state: str, views: str) -> None:
    lines = describe_receipt(_receipt(**fields))
    assert f"state:     {state}" in lines
    assert f"views:     {views}" in lines


def test_the_passphrase_line_counts_attempts() -> None:
    lines = describe_receipt(_receipt(passphrase=True, failed_attempts=4))
    assert "passphrase: required; 4 wrong passphrases, 1 attempt left" in lines
    lines = describe_receipt(_receipt(passphrase=True, state="locked", failed_attempts=5))
    assert "passphrase: required; 5 wrong passphrases" in lines


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_is_rewritten_in_place_and_erased() -> None:
    screen = _Terminal()
    progress = ProgressLine(screen)
    progress("encrypting", 0, 2_000_000)
    progress("uploading", 0, 2_500_000)
    progress("uploading", 2_500_000, 2_500_000)
    progress.clear()
    shown = screen.getvalue()
    assert shown.startswith("\rencrypting 2.0 MB...\ruploading 2.5 MB   0%")
    assert "\ruploading 2.5 MB 100%" in shown
    assert shown.endswith("\r" + " " * len("uploading 2.5 MB 100%") + "\r")
    assert "\n" not in shown


def test_no_progress_line_off_a_terminal_or_for_small_transfers() -> None:
    pipe = io.StringIO()
    ProgressLine(pipe)("uploading", 0, 50_000_000)
    assert pipe.getvalue() == ""
    screen = _Terminal()
    small = ProgressLine(screen)
    small("uploading", 0, 999_999)
    small.clear()
    assert screen.getvalue() == ""
