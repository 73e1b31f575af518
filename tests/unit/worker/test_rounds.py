"""The outbox loops' backoff: exponential, capped, and spread."""

from __future__ import annotations

from services.server.settings import load_settings
from services.worker.rounds import backoff

SETTINGS = load_settings(
    {"DATABASE_URL": "postgresql://db/x", "WEBHOOK_RETRY_BASE": "2", "WEBHOOK_RETRY_MAX": "60"}
)


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    for attempts, full in [(0, 2.0), (1, 4.0), (4, 32.0), (5, 60.0), (40, 60.0)]:
        waits = [backoff(SETTINGS, attempts) for _ in range(200)]
        assert all(full / 2 <= wait <= full for wait in waits), attempts
        # Spread: failures at one moment do not all come back at one moment.
        assert max(waits) - min(waits) > full / 4, attempts
