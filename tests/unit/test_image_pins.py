"""The image builds from a base pinned by digest (security finding 14): a rebuild gets
the bytes that were reviewed, whatever the tag points to that day."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"
PINNED = re.compile(r"^[\w./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$")


def test_every_stage_builds_from_a_base_pinned_by_digest() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    args = dict(
        line.removeprefix("ARG ").split("=", 1)
        for line in lines
        if line.startswith("ARG ") and "=" in line
    )
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases
    for named in bases:
        match = re.fullmatch(r"\$\{(\w+)\}", named)
        base = args[match.group(1)] if match else named
        assert PINNED.match(base), f"FROM {base} is not pinned by digest"
