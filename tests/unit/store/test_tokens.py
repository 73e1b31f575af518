"""What an API token's name, owner and expiry may be (review finding 10)."""

from __future__ import annotations

import pytest

from services.store import tokens


@pytest.mark.parametrize("name", ["ci", "nightly-backup", "a.b_c-1", "x" * 64])
def test_plain_names_are_valid(name: str) -> None:
    assert tokens.is_valid_name(name)


@pytest.mark.parametrize("name", ["", "Ci", "-ci", "ci\n", "c\x00i", "x" * 65, "ci/../x"])
def test_other_names_are_not(name: str) -> None:
    assert not tokens.is_valid_name(name)


@pytest.mark.parametrize("owner", ["", "ops\x00@example.com", "ops\n@example.com", "o" * 255])
def test_owners_must_be_printable_and_short(owner: str) -> None:
    assert not tokens.is_valid_owner(owner)


@pytest.mark.parametrize("days", ["²", "٣", "0", "3651", "1e3", " 7", ""])
def test_expiry_days_are_ascii_digits_in_range(days: str) -> None:
    with pytest.raises(ValueError, match="days"):
        tokens.expiry_days(days)


def test_expiry_days_parse() -> None:
    assert tokens.expiry_days("30") == 30
    assert tokens.expiry_days("3650") == 3650
