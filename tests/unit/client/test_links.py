from __future__ import annotations

import pytest

from services.client.links import MalformedLink, make_link, parse_link
from services.protocol.envelope import b64u_decode, b64u_encode

ID = "bjENOfnOvK0IFnvfqt16AQ"
KEY = "kOKXkTJc2OraaIcV6h7rKO0eOopUqLXpJPzhDzt1rW0"


def test_share_link_round_trips_with_a_path_prefix() -> None:
    link = parse_link(f"https://example.com/tools/burnafter/s/{ID}#{KEY}", "s")
    assert link.base == "https://example.com/tools/burnafter"
    assert link.id == ID
    assert str(link) == f"https://example.com/tools/burnafter/s/{ID}#{KEY}"
    assert str(make_link(link.base + "/", "s", link.id, link.key)) == str(link)


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_link(f"  http://h:8080/r/{ID}#{KEY}\n", "r").base == "http://h:8080"


@pytest.mark.parametrize(
    "text",
    [
        f"http://h/r/{ID}#{KEY}",  # a receipt link where a share link is expected
        f"http://h/s/{ID}",  # no key
        f"http://h/s/{ID}#{KEY[:-1]}",  # cut short
        f"http://h/s/{ID}#{KEY}A",  # too long
        f"http://h/s/{ID[:-1]}#{KEY}",
        f"http://h/s/{ID}/x#{KEY}",
        f"http://h/s/{ID}?q=1#{KEY}",
        f"javascript:alert(1)//s/{ID}#{KEY}",
        f"/s/{ID}#{KEY}",
        "http://[::1/s/x#y",
        "x" * 5000,
    ],
)
def test_malformed_links_are_refused_without_echoing_the_key(text: str) -> None:
    with pytest.raises(MalformedLink) as caught:
        parse_link(text, "s")
    assert KEY not in str(caught.value)


def test_fill_and_collect_links_carry_keys_of_their_own_sizes() -> None:
    both = bytes(range(64))
    fill = parse_link(f"https://h/q/{ID}#{b64u_encode(both)}", "q")
    assert (fill.kind, fill.key) == ("q", both)
    assert str(make_link("https://h", "q", ID, both)) == f"https://h/q/{ID}#{b64u_encode(both)}"
    assert parse_link(f"https://h/c/{ID}#{KEY}", "c").key == b64u_decode(KEY)
    with pytest.raises(MalformedLink, match="fill link is damaged"):
        parse_link(f"https://h/q/{ID}#{KEY}", "q")
    with pytest.raises(MalformedLink, match="collect link is damaged"):
        parse_link(f"https://h/c/{ID}#{b64u_encode(both)}", "c")
