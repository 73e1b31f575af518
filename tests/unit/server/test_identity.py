"""The groups (and user) an identity-aware proxy passes: a group name the identity
provider granted must never be read as another group, above all an admin group
(security review finding 13)."""

from __future__ import annotations

import sys
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.server.appkeys import SETTINGS
from services.server.identity import Identity, fold, signed_in
from services.server.settings import load_settings

SETTINGS_ENV = {
    "DATABASE_URL": "postgresql://db/burnafter",
    "TRUSTED_PROXIES": "127.0.0.1/32",  # the peer of every mocked request
    "ADMIN_USERS": "kate@example.com",
    "ADMIN_GROUPS": "platform-admins,keyholders",
}


def identity(headers: dict[str, str]) -> Identity | None:
    app = web.Application()
    app[SETTINGS] = load_settings(SETTINGS_ENV)
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        ("127.0.0.1", 40000) if name == "peername" else default
    )
    request = make_mocked_request("GET", "/admin", headers=headers, app=app, transport=transport)
    assert request.remote == "127.0.0.1"
    return signed_in(request)


def groups(header: str) -> frozenset[str]:
    found = identity({"X-Forwarded-Email": "mallory@example.com", "X-Forwarded-Groups": header})
    assert found is not None and found.user == "mallory@example.com"
    return found.groups


def admin_groups_of(header: str) -> frozenset[str]:
    return groups(header) & load_settings(SETTINGS_ENV).admin_groups


def test_the_documented_list_syntax() -> None:
    # Comma-separated, optional spaces around each comma, ASCII letters in any case.
    assert groups("staff,ops") == {"staff", "ops"}
    assert groups("staff, Platform-Admins") == {"staff", "platform-admins"}
    assert admin_groups_of("staff, Platform-Admins") == {"platform-admins"}
    assert groups("staff,,ops,") == {"staff", "ops"}  # empty elements name no group
    assert groups("Équipe-Sécurité") == {"équipe-sécurité"}


@pytest.mark.parametrize(
    "crafted",
    [
        "\u00a0platform-admins",  # a no-break space is not list whitespace
        "platform-admins\u00a0",
        "staff,\u2003platform-admins",  # an em space
        "staff,\u200bplatform-admins",  # a zero-width space
        "staff,\u3000platform-admins",  # an ideographic space
        "staff,\u0085platform-admins",  # a next-line control
        "staff,\tplatform-admins",  # a tab inside a group name
        "\u212aeyholders",  # KELVIN SIGN: str.lower() makes it an ASCII k
        "staff,\u212aEYHOLDERS",
        "platform-admins\u00ad",  # a soft hyphen (invisible, format character)
        "platform\u2010admins",  # a Unicode hyphen is another character
    ],
)
def test_a_crafted_group_name_never_becomes_an_admin_group(crafted: str) -> None:
    assert not admin_groups_of(crafted)


def test_a_groups_header_with_invisible_or_control_characters_grants_no_group() -> None:
    # Not a name any provider would send: the whole header is disbelieved, not
    # cleaned up into something else.
    assert groups("staff,\u00a0platform-admins") == frozenset()
    assert groups("ops\u200b") == frozenset()


def test_a_crafted_user_never_becomes_an_admin_user() -> None:
    for crafted in ["\u212aate@example.com", "\u00a0kate@example.com", "kate@example.com\u200b"]:
        found = identity({"X-Forwarded-Email": crafted})
        assert found is None or found.user not in load_settings(SETTINGS_ENV).admin_users
    found = identity({"X-Forwarded-Email": "Kate@Example.com"})
    assert found is not None and found.user == "kate@example.com"


def test_no_character_outside_ascii_folds_into_ascii() -> None:
    # So no name written with look-alikes matches a name in plain letters.
    crossing = [
        hex(point)
        for point in range(0x80, sys.maxunicode + 1)
        if any(character.isascii() for character in fold(chr(point)))
    ]
    assert not crossing
