"""Property-based fuzzing of links, which parse untrusted text: a link parses or
raises MalformedLink, and every link we make parses back."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from services.client.links import Link, MalformedLink, make_link, parse_link
from services.protocol import envelope


@given(st.text(max_size=300))
def test_arbitrary_text_parses_as_a_link_or_raises_malformed_link(text: str) -> None:
    try:
        link = parse_link(text, "s")
    except MalformedLink:
        return
    assert isinstance(link, Link) and len(link.key) == 32


hosts = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20)
prefixes = st.text(alphabet=string.ascii_lowercase + "-/", max_size=20).map(
    lambda p: "/" + p.strip("/") if p.strip("/") else ""
)


@given(
    st.sampled_from(["http", "https"]), hosts, prefixes, st.binary(min_size=16, max_size=16),
    st.binary(min_size=32, max_size=32),
)  # fmt: skip
def test_every_link_we_make_parses_back(
    scheme: str, host: str, prefix: str, raw_id: bytes, key: bytes
) -> None:
    link = make_link(f"{scheme}://{host}{prefix}", "s", envelope.b64u_encode(raw_id), key)
    assert parse_link(str(link), "s") == link
