"""The CLI promises the same number as the web page: services/client/sizes.py and
services/web/static/js/sizes.js, run side by side on Node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from services.client.sizes import budget, format_size
from services.server.settings import BY_NAME, SettingsError, load_settings

SIZES_JS = Path(__file__).resolve().parents[3] / "services/web/static/js/sizes.js"
LIMITS = [1024, 1053, 1100, 2048, 5000, 65_536, 1_000_000, 2**20, 3 * 2**20 + 12_345, 2**30]


def test_the_budget_and_its_words_are_the_page_s() -> None:
    script = (
        f"import {{ budget, formatSize }} from {json.dumps(SIZES_JS.as_uri())};"
        f"const out = {json.dumps(LIMITS)}.map((n) => {{ const b = budget(n);"
        " return [b.frame, b.shown, formatSize(b.shown, { down: true }), formatSize(n)]; });"
        "console.log(JSON.stringify(out));"
    )
    node = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    page = json.loads(node.stdout)
    ours = [
        [b.frame, b.shown, format_size(b.shown, down=True), format_size(n)]
        for n, b in ((n, budget(n)) for n in LIMITS)
    ]
    assert ours == page


def test_every_limit_the_settings_accept_holds_a_secret_of_a_few_kb() -> None:
    # A limit below a few KB would refuse even a password with a file name or two,
    # and the page would promise next to nothing.
    lowest = BY_NAME["MAX_CONTENT_BYTES"].lo
    assert isinstance(lowest, int)
    assert budget(lowest).shown >= 2 * 1024
    with pytest.raises(SettingsError, match="MAX_CONTENT_BYTES"):
        load_settings({"DATABASE_URL": "postgresql://x@h/d", "MAX_CONTENT_BYTES": str(lowest - 1)})
