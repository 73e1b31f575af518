"""Reading the audit lines that services write during a test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class AuditTail:
    """The audit lines the in-process services write from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def lines(self) -> list[dict[str, Any]]:
        with self.path.open("rb") as log:
            log.seek(self.start)
            records = [json.loads(line) for line in log.read().splitlines() if line.strip()]
        return [r for r in records if r.get("audit")]
