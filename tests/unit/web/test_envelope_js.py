"""The browser's envelope passes the protocol vectors too: Node's test runner runs
tests/js/ against services/web/static/js/envelope.js (v1) and content.js (v2)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "docs" / "protocol-v1-vectors.json"
V2_VECTORS = ROOT / "docs" / "protocol-v2-vectors.json"


def vector_count() -> int:
    """Tests the vectors files ask for at least: one per vector and tamper case,
    one per padding table."""
    v1 = json.loads(VECTORS.read_text())
    v2 = json.loads(V2_VECTORS.read_text())
    v2_cases = ("links", "tampered_wraps", "contents", "tampered")
    return (
        len(v1["secrets"])
        + len(v1["receipts"])
        + bool(v1["padding"])
        + sum(len(v2[key]) for key in v2_cases)
        + bool(v2["padding"])
    )


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
