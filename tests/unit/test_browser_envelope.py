"""The browser's envelope passes the protocol vectors too: Node's test runner runs
tests/js/ against services/web/static/js/envelope.js."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_javascript_envelope_passes_the_protocol_vectors() -> None:
    node = shutil.which("node")
    assert node, "Node.js is required (make test-tools installs it)"
    result = subprocess.run(
        [node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    assert "# pass 8" in result.stdout
