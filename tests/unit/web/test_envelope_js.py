"""The browser's envelope passes the protocol vectors too: Node's test runner runs
tests/js/ against services/web/static/js/envelope.js."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "docs" / "protocol-v1-vectors.json"


def vector_count() -> int:
    """Tests the vectors file asks for at least: one per secret vector, one per
    receipt vector, one for the padding table."""
    vectors = json.loads(VECTORS.read_text())
    return len(vectors["secrets"]) + len(vectors["receipts"]) + bool(vectors["padding"])


def test_javascript_envelope_passes_the_protocol_vectors() -> None:
    node = shutil.which("node")
    assert node, "Node.js is required (make test-tools installs it)"
    result = subprocess.run(
        [node, "--test", "tests/js/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), result.stdout
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= vector_count(), result.stdout
