"""Metrics and audit log, read back from running services after a full lifecycle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fixtures_types import ApiClient, ClientWith, StartService
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import MadeSecret, make_secret, secret_passphrase
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
AUDIT_KEY = "k" * 40
AUDIT_FIELDS = {
    "timestamp", "event", "service", "secret_ref", "actor", "client_address",
    "user_agent", "request_id", "outcome",
}  # fmt: skip

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(session: aiohttp.ClientSession, url: str) -> tuple[str, Samples]:
    async with session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    LEAK_WATCH.metrics_texts.append(text)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
def services(database_url: str, start_service: StartService) -> dict[str, ServiceProcess]:
    # Loopback is the trusted proxy here, so the request id the test sends is believed.
    env = {
        "AUDIT_KEY": AUDIT_KEY,
        "REAPER_INTERVAL": "0.3",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "DB_POOL_MAX": "12",  # the pool gauge below shows it
    }
    return {
        "api": start_service("api", database_url, **env),
        "web": start_service("web", database_url, **env),
        "reaper": start_service("reaper", database_url, **env),
    }


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    await eventually(condition, seconds=seconds)


async def reaper_passes(session: aiohttp.ClientSession, url: str) -> float:
    _, samples = await scrape(session, url)
    return sum(v for (name, _), v in samples.items() if name == "burnafter_reaper_passes_total")


async def drive_lifecycle(
    session: aiohttp.ClientSession, api: str, db: asyncpg.Connection
) -> dict[str, Any]:
    """Create four secrets and take each through a different ending."""
    secrets_api = f"{api}/api/v1/secrets"

    async def create(secret: MadeSecret) -> str:
        async with session.post(
            secrets_api, json=secret.body, headers={"X-Request-ID": "req-create-1"}
        ) as r:
            assert r.status == 201
            return str((await r.json())["id"])

    viewed, locked, revoked, expired = (
        make_secret(max_views=2), make_secret(passphrase=secret_passphrase()),
        make_secret(), make_secret(),
    )  # fmt: skip
    ids = {
        name: await create(s)
        for name, s in [
            ("viewed", viewed),
            ("locked", locked),
            ("revoked", revoked),
            ("expired", expired),
        ]
    }
    for body in (viewed.reveal_body(), viewed.reveal_body(), viewed.reveal_body()):
        await session.post(f"{secrets_api}/{ids['viewed']}/reveal", json=body)  # 200, 200, 404
    await session.post(
        f"{secrets_api}/{ids['locked']}/reveal", json=locked.claim_body()
    )  # 401 required
    for _ in range(5):
        await session.post(
            f"{secrets_api}/{ids['locked']}/reveal", json=locked.reveal_body(passphrase="wrong")
        )
    await session.delete(f"{secrets_api}/{ids['revoked']}", headers=revoked.bearer)
    await db.execute(
        "UPDATE secrets SET expires_at = now() - interval '1 s' WHERE id = $1", ids["expired"]
    )

    async def reaped() -> bool:
        return bool(
            await db.fetchval("SELECT state FROM receipts WHERE id = $1", ids["expired"])
            == "expired"
        )

    await wait_for(reaped)
    LEAK_WATCH.secret_ids.extend(ids.values())
    return ids


async def test_a_full_lifecycle_moves_each_counter_by_exactly_the_expected_amount(
    services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    async with aiohttp.ClientSession() as session:
        _, api_before = await scrape(session, services["api"].metrics_url)
        _, reaper_before = await scrape(session, services["reaper"].metrics_url)
        await drive_lifecycle(session, services["api"].url, db)
        # A whole reaper pass after the lifecycle, so its gauges are fresh: the pass
        # counted next may have begun before; the one after it began after.
        reaper_url = services["reaper"].metrics_url
        passes = await reaper_passes(session, reaper_url)

        async def two_more_passes() -> bool:
            return await reaper_passes(session, reaper_url) >= passes + 2

        await eventually(two_more_passes, what="two more reaper passes")
        _, api = await scrape(session, services["api"].metrics_url)
        _, reaper = await scrape(session, services["reaper"].metrics_url)

    expected_api = {
        ("burnafter_secrets_created_total", ()): 4,
        ("burnafter_secret_ciphertext_bytes_count", ()): 4,
        ("burnafter_secret_reveals_total", (("outcome", "revealed"),)): 2,
        ("burnafter_secret_reveals_total", (("outcome", "not_found"),)): 1,
        ("burnafter_secret_reveals_total", (("outcome", "passphrase_required"),)): 1,
        ("burnafter_secret_reveals_total", (("outcome", "wrong_passphrase"),)): 5,
        ("burnafter_unlock_failures_total", ()): 5,
        ("burnafter_secrets_locked_total", ()): 1,
        ("burnafter_secrets_revoked_total", ()): 1,
    }
    for (name, labels), amount in expected_api.items():
        assert delta(api_before, api, name, **dict(labels)) == amount, name
    route = {"route": "/api/v1/secrets/{id}/reveal", "method": "POST"}
    assert delta(api_before, api, "burnafter_http_requests_total", status_class="2xx", **route) == 2
    assert delta(api_before, api, "burnafter_http_requests_total", status_class="4xx", **route) == 7
    assert delta(api_before, api, "burnafter_http_request_duration_seconds_count", **route) == 9
    assert api[("burnafter_http_requests_in_flight", ())] == 0
    assert api[("burnafter_db_pool_max_size", ())] == 12
    assert ("burnafter_build_info", (("service", "api"), ("version", "0.1.0"))) in api

    assert delta(reaper_before, reaper, "burnafter_secrets_expired_total") == 1
    assert reaper[("burnafter_reaper_backlog_secrets", ())] == 0
    assert reaper[("burnafter_reaper_last_success_timestamp_seconds", ())] > 0
    assert delta(reaper_before, reaper, "burnafter_reaper_passes_total", outcome="error") == 0
    # A process exports only its own groups: no reaper gauges from the api.
    assert not any(name.startswith("burnafter_reaper") for name, _ in api)


def audit_lines(*logs: Path) -> list[dict[str, Any]]:
    lines = []
    for path in logs:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("audit"):
                lines.append(record)
    return lines


async def test_the_audit_log_records_each_lifecycle_event_with_the_documented_fields(
    services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    async with aiohttp.ClientSession() as session:
        ids = await drive_lifecycle(session, services["api"].url, db)
    for service in services.values():
        service.stop()
    lines = audit_lines(services["api"].log, services["reaper"].log)
    for line in lines:
        assert set(line) >= AUDIT_FIELDS, line
        assert line["secret_ref"] not in ids.values()
        assert re.fullmatch(r"[0-9a-f]{16}", line["secret_ref"])
    by_ref: dict[str, list[str]] = {}
    for line in lines:
        by_ref.setdefault(line["secret_ref"], []).append(line["event"])
    assert len(by_ref) == 4  # one ref per secret, the same in the api's and the reaper's lines
    assert sorted(by_ref.values()) == sorted([
        ["secret.created", "secret.viewed", "secret.viewed"],
        ["secret.created"] + ["secret.wrong_passphrase"] * 5 + ["secret.burned"],
        ["secret.created", "secret.revoked"],
        ["secret.created", "secret.expired"],
    ])  # fmt: skip
    created = [line for line in lines if line["event"] == "secret.created"]
    assert {line["request_id"] for line in created} == {"req-create-1"}
    assert {line["service"] for line in lines} == {"api", "reaper"}
    assert Counter(line["outcome"] for line in lines)["denied"] == 5
    assert all(
        line["client_address"] == "127.0.0.0/24" for line in lines if line["service"] == "api"
    )


async def test_request_ids_are_accepted_when_sane_and_made_otherwise(api_with: ClientWith) -> None:
    api = await api_with(TRUSTED_PROXIES="127.0.0.1/32")
    given = await api.get("/api/v1/limits", headers={"X-Request-ID": "trace-abc.123"})
    assert given.headers["X-Request-ID"] == "trace-abc.123"
    for bad in ("", "has spaces", "x" * 200, "bad\u00e9"):
        made = await api.get("/api/v1/limits", headers={"X-Request-ID": bad} if bad else {})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    missing = await api.get("/api/v1/nowhere")
    assert re.fullmatch(r"[0-9a-f]{32}", missing.headers["X-Request-ID"])


async def test_a_request_id_is_believed_only_from_a_trusted_proxy(api: ApiClient) -> None:
    """A client must not choose the id that joins log lines: it could blend its own
    requests into another's in the audit trail."""
    forged = await api.get("/api/v1/limits", headers={"X-Request-ID": "trace-abc.123"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])


async def test_no_client_makes_new_metric_series(
    database_url: str, start_service: StartService
) -> None:
    """The method label takes HTTP's own methods only: any other method the server's
    parser lets through (WebDAV's and others; it refuses made-up ones with 400) is
    counted as "other", so requests cannot grow the series."""
    api = start_service("api", database_url)
    async with aiohttp.ClientSession() as session:
        for made_up in ("PROPFIND", "MKCOL", "PURGE", "SEARCH"):
            async with session.request(made_up, f"{api.url}/api/v1/limits") as response:
                assert response.status == 405
        _, samples = await scrape(session, api.metrics_url)
    methods = {
        dict(labels)["method"]
        for (name, labels), _ in samples.items()
        if name == "burnafter_http_requests_total"
    }
    assert "other" in methods
    assert methods <= {"GET", "POST", "other"}


DASHBOARD = ROOT / "deploy" / "grafana" / "burnafter.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
METRIC_NAME = re.compile(r"\bburnafter_[a-z_]+")


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def alert_exprs() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


async def test_every_metric_in_the_dashboard_and_alerts_is_exported(
    services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    async with aiohttp.ClientSession() as session:
        await drive_lifecycle(session, services["api"].url, db)
        exported: set[str] = set()
        for service in services.values():
            _, samples = await scrape(session, service.metrics_url)
            exported |= {name for name, _ in samples}
    used = {
        name for expr in dashboard_exprs() + alert_exprs() for name in METRIC_NAME.findall(expr)
    }
    assert len(used) > 10
    assert used - exported == set()


def test_promtool_accepts_the_alert_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (make test-tools installs Debian's prometheus)"
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout + result.stderr


def test_the_alerts_page_for_outages_not_for_a_few_errors() -> None:
    """deploy/prometheus/alerts_test.yml: two 5xx at low traffic and one failed reaper
    pass page nobody; an outage is critical, and every alert keeps its namespace."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (make test-tools installs Debian's prometheus)"
    result = subprocess.run(
        [promtool, "test", "rules", str(ALERTS.with_name("alerts_test.yml"))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_severities_are_alertmanager_s_usual_two() -> None:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]


def test_every_alert_has_a_summary_and_a_runbook_section() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text().lower()
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["summary"]
            anchor = rule["annotations"]["runbook_url"].split("#")[1]
            assert f"### {rule['alert'].lower()}" in operations, anchor
