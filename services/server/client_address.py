"""Who is asking: the client address (through trusted proxies only) reduced by the
address policy, and a truncated user agent."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web

from services.server.appkeys import SETTINGS
from services.server.settings import AddressPolicy, IPNetwork
from services.store.secrets import Access

USER_AGENT_CHARS = 200


# Both are pure and see the same few addresses over and over (proxies, office
# networks): cached, they cost a dictionary lookup on the hot path.
@lru_cache(maxsize=4096)
def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The first address, walking ``X-Forwarded-For`` from the right, that is not a
    trusted proxy. The header counts only when the peer itself is trusted."""
    address = _parse(peer or "")
    if address is None or not forwarded_for:
        return address
    hops = forwarded_for.split(",")
    while address is not None and any(address in net for net in trusted) and hops:
        address = _parse(hops.pop())
    return address


@lru_cache(maxsize=4096)
def apply_policy(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, policy: AddressPolicy
) -> str | None:
    """``full`` keeps the address, ``truncated`` keeps its /24 (IPv4) or /48 (IPv6)
    network, ``off`` keeps nothing."""
    if address is None or policy == "off":
        return None
    if policy == "full":
        return str(address)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def truncate_user_agent(user_agent: str | None) -> str | None:
    if not user_agent:
        return None
    if not user_agent.isprintable():  # rare: a browser's is always printable
        user_agent = "".join(ch for ch in user_agent if ch.isprintable())
    return user_agent[:USER_AGENT_CHARS] or None


def forwarded_for(request: web.Request) -> str | None:
    """Every ``X-Forwarded-For`` line, in order, as one list: a proxy that appends a
    line of its own (HAProxy) puts the address it saw last, so reading the first line
    alone would believe what the client wrote."""
    lines = request.headers.getall("X-Forwarded-For", [])
    return ",".join(lines) if lines else None


@lru_cache(maxsize=4096)
def rate_limit_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str:
    """The client as rate limits see it: its IPv4 address, or its IPv6 /64 (one
    host's share of a network)."""
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Client:
    """Who is asking, worked out once per request."""

    rate_limit_key: str
    access: Access  # as access events and audit lines record it


CLIENT = web.RequestKey("client", Client)


def client_of(request: web.Request) -> Client:
    """The request's client, computed on first use and kept on the request."""
    client = request.get(CLIENT)
    if client is None:
        settings = request.config_dict[SETTINGS]
        address = client_address(request.remote, forwarded_for(request), settings.trusted_proxies)
        access = Access(
            client_address=apply_policy(address, settings.client_address_policy),
            user_agent=truncate_user_agent(request.headers.get("User-Agent")),
        )
        client = request[CLIENT] = Client(rate_limit_key(address), access)
    return client


def access_of(request: web.Request) -> Access:
    """Who is asking, as the access events and audit lines record it."""
    return client_of(request).access


def peer_is_trusted_proxy(request: web.Request) -> bool:
    """The direct peer (not any forwarded address) is in ``TRUSTED_PROXIES``."""
    peer = _parse(request.remote or "")
    trusted = request.config_dict[SETTINGS].trusted_proxies
    return peer is not None and any(peer in net for net in trusted)
