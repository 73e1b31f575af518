"""schemathesis against the running api's own OpenAPI document: generated and
fuzzed requests, every check (no 5xx, status codes, content types, response
schemas and headers, schema-valid requests accepted, invalid ones refused)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.cli import BIN
from tests.support.fixtures_types import StartService

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "1"  # fixed, so CI is repeatable; run the command with other seeds to search further


async def test_schemathesis_finds_nothing(database_url: str, start_service: StartService) -> None:
    limits_off = {
        "RATE_LIMIT_CREATE": "0",
        "RATE_LIMIT_PEEK": "0",
        "RATE_LIMIT_REVEAL": "0",
        "RATE_LIMIT_RECEIPT": "0",
    }
    api = start_service("api", database_url, **limits_off)
    run = await asyncio.create_subprocess_exec(
        str(BIN / "schemathesis"), "--config-file", str(CONFIG),
        "run", f"{api.url}/api/v1/openapi.json",
        "--url", f"{api.url}/api", "--checks", "all", "--max-examples", "30", "--seed", SEED,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(run.communicate(), timeout=300)
    report = output.decode()
    assert run.returncode == 0, report[-4000:]
    assert " passed" in report and "generated" in report
