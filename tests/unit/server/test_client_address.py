from __future__ import annotations

import ipaddress

import pytest

from services.server.client_address import (
    apply_policy,
    client_address,
    truncate_user_agent,
)
from services.server.settings import AddressPolicy

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert str(client_address("203.0.113.9", "198.51.100.1", PROXIES)) == "203.0.113.9"


def test_forwarded_for_is_believed_from_a_trusted_proxy() -> None:
    assert str(client_address("10.1.2.3", "198.51.100.1", PROXIES)) == "198.51.100.1"


def test_a_client_cannot_spoof_by_prepending_hops() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the trusted proxy appended the real peer.
    assert str(client_address("10.1.2.3", "1.2.3.4, 198.51.100.1", PROXIES)) == "198.51.100.1"


def test_chains_of_trusted_proxies_are_walked_from_the_right() -> None:
    found = client_address("::1", "198.51.100.1, 10.0.0.2, 10.0.0.1", PROXIES)
    assert str(found) == "198.51.100.1"


def test_ipv4_mapped_peers_are_plain_ipv4() -> None:
    assert str(client_address("::ffff:10.0.0.1", "198.51.100.7", PROXIES)) == "198.51.100.7"


@pytest.mark.parametrize(
    ("policy", "address", "expected"),
    [
        ("full", "198.51.100.77", "198.51.100.77"),
        ("truncated", "198.51.100.77", "198.51.100.0/24"),
        ("truncated", "2001:db8:1:2::9", "2001:db8:1::/48"),
        ("off", "198.51.100.77", None),
    ],
)
def test_address_policy(policy: AddressPolicy, address: str, expected: str | None) -> None:
    assert apply_policy(ipaddress.ip_address(address), policy) == expected


def test_user_agent_is_truncated_and_stripped_of_control_characters() -> None:
    assert truncate_user_agent("a\x00b\nc" + "x" * 500) == "abc" + "x" * 197
    assert truncate_user_agent(None) is None
