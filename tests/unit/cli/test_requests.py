"""Requests in the client library and the CLI's words, without a server: what the
asker's body holds, which command a link of each kind goes to, sizes, and a
request's life in words."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, cast

import pytest

from services.cli.client_commands import describe_request, parse_link_of_kind, shown_name
from services.cli.request_commands import parse_size
from services.client import requests
from services.client.api_client import Api
from services.client.links import LinkKind, MalformedLink, make_link
from services.protocol import request
from services.protocol.envelope import b64u_decode, b64u_encode, verifier

SERVER = "http://127.0.0.1:1"
ID = "A" * 22


class AskingApi:
    """Records the body of an ask, and answers as the server does."""

    server = SERVER

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(json.loads(json.dumps(body)))  # what went over the wire
        return {"id": ID, "expires_at": "2030-01-01T00:00:00Z"}


async def test_the_ask_holds_verifiers_and_the_sealed_note_and_the_links_the_keys() -> None:
    api = AskingApi()
    note = "the staging database password, please"
    asked = await requests.ask(
        cast(Api, api), note, files_allowed=False, max_views=2, passphrase="pw"
    )
    (body,) = api.bodies
    assert set(body) == {"fill_verifier", "files_allowed", "answer", "manage_verifier", "note"}
    assert body["files_allowed"] is False
    wire = json.dumps(body)
    fill_key, public_key = asked.fill_link.key[:32], asked.fill_link.key[32:]
    for secret in (fill_key, asked.collect_link.key, public_key):
        assert b64u_encode(secret) not in wire
    assert note not in wire
    assert request.open_note(fill_key, b64u_decode(body["note"])) == note
    assert public_key == request.public_key(asked.collect_link.key)
    keys = request.collect_keys(asked.collect_link.key, "pw")
    assert body["answer"] == {
        "claim_verifier": b64u_encode(verifier(keys.claim)),
        "unlock_verifier": b64u_encode(verifier(keys.unlock or b"")),
        "max_views": 2,
    }
    assert b64u_decode(body["fill_verifier"]) == verifier(request.fill_keys(fill_key).claim)
    assert (asked.fill_link.kind, asked.collect_link.kind) == ("q", "c")
    assert asked.fill_link.id == asked.collect_link.id == asked.id == ID


async def test_an_ask_without_choices_sends_none() -> None:
    api = AskingApi()
    await requests.ask(cast(Api, api), files_allowed=True)
    (body,) = api.bodies
    assert set(body) == {"fill_verifier", "files_allowed", "answer", "manage_verifier"}
    assert set(body["answer"]) == {"claim_verifier"}


KEY_SIZES: dict[LinkKind, int] = {"s": 32, "r": 32, "q": 64, "c": 32}
LINKS = {
    kind: str(make_link(SERVER, kind, ID, os.urandom(size))) for kind, size in KEY_SIZES.items()
}


@pytest.mark.parametrize(
    ("given", "kinds", "says"),
    [
        ("q", ("s", "c"), "that is a fill link, not a share link: answer the request with "),
        ("q", ("r", "c"), "that is a fill link, not a receipt link: answer the request with "),
        ("c", ("q",), "that is a collect link, not a fill link: open the answer with "),
        ("c", ("s",), "that is a collect link, not a share link: "),
        ("r", ("s", "c"), "that is a receipt link, not a share link: see the secret's state"),
        ("s", ("r",), "that is a share link, not a receipt link: open it with `burnafter open`"),
    ],
)
def test_a_link_of_another_kind_names_the_command_that_takes_it(
    given: LinkKind, kinds: tuple[LinkKind, ...], says: str
) -> None:
    with pytest.raises(MalformedLink) as refused:
        parse_link_of_kind(LINKS[given], kinds)
    assert str(refused.value).startswith(says)
    assert LINKS[given].partition("#")[2] not in str(refused.value)


def test_a_command_takes_each_of_its_kinds() -> None:
    assert parse_link_of_kind(LINKS["c"], ("s", "c")).kind == "c"
    assert parse_link_of_kind(LINKS["s"], ("s", "c")).kind == "s"
    with pytest.raises(MalformedLink, match="not a share link: no /s/ID"):
        parse_link_of_kind(f"{SERVER}/x/{ID}#key", ("s", "c"))


@pytest.mark.parametrize(
    ("text", "size"),
    [("5000", 5000), ("500KB", 500 * 1024), ("10MB", 10 * 1024**2), ("1 GiB", 1024**3),
     ("1.5k", 1536), ("7 bytes", 7)],
)  # fmt: skip
def test_sizes_count_as_the_pages_do(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "ten", "-5MB", "5TB", "0.1"])
def test_a_size_is_at_least_one_byte_in_known_units(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


ASKED = {
    "state": "open",
    "files_allowed": True,
    "max_content_bytes": 10 * 1024**2,
    "answer_max_views": 1,
    "created_at": "2030-01-01T10:00:00+00:00",
    "expires_at": "2030-01-02T10:00:00+00:00",
    "opened_at": None,
    "answered_at": None,
}


def test_a_request_in_words_before_and_after_its_answer() -> None:
    assert describe_request({"request": ASKED, "answer": None}) == [
        "request:   open: not answered yet",
        "asked:     2030-01-01T10:00:00+00:00",
        "expires:   2030-01-02T10:00:00+00:00",
        "files:     allowed, up to 10.0 MB in all",
        "opened:    not yet",
        "answered:  not yet",
    ]
    answered = {
        **ASKED,
        "state": "answered",
        "files_allowed": False,
        "opened_at": "2030-01-01T11:00:00+00:00",
        "answered_at": "2030-01-01T11:05:00+00:00",
    }
    receipt = {
        "state": "viewed", "views": 1, "max_views": 1, "passphrase": False,
        "created_at": "2030-01-01T11:05:00+00:00", "expires_at": "2030-01-08T11:05:00+00:00",
        "events": [{"at": "2030-01-01T12:00:00+00:00", "event": "viewed",
                    "client_address": "", "user_agent": "burnafter-cli/1"}],
    }  # fmt: skip
    arriving = describe_request({"request": {**answered, "uploading": True}, "answer": None})
    assert arriving[-1] == "answered:  2030-01-01T11:05:00+00:00 (its upload is still arriving)"
    lines = describe_request({"request": answered, "answer": receipt})
    assert lines[0] == "request:   answered"
    assert "files:     not allowed" in lines
    assert "opened:    2030-01-01T11:00:00+00:00 (the responder read the request)" in lines
    assert lines[lines.index("answer:") + 1] == "  state:     viewed"
    assert lines[-1] == "    2030-01-01T12:00:00+00:00  viewed           burnafter-cli/1"


def test_a_note_keeps_its_lines_and_loses_escapes() -> None:
    assert shown_name("line one\nline\x1b[31m two\u202e", keep="\n") == ("line one\nline_[31m two_")
