"""Every event the store can record has its words on the admin dashboard: an event
without them would fail the audit page with a 500."""

from __future__ import annotations

from services.store.vocabulary import EventKind
from services.web.admin.dashboard import EVENT_NAMES


def test_every_event_kind_has_a_name_on_the_dashboard() -> None:
    assert set(EVENT_NAMES) == set(EventKind)
