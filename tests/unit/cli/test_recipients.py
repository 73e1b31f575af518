"""Several recipients (issue 16), client side without a server: the create body
``contents.send`` builds (one content, a link per recipient, names sealed), the
receipt's names opened and found, revoke's fallback, ``--to`` and ``status``'s words."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from services.cli.client_commands import describe_receipt, shown_name
from services.cli.main import build_parser
from services.client import api_client, contents
from services.client.api_client import Api, ApiError, ClientError
from services.client.contents import Recipient
from services.client.links import Link, make_link
from services.protocol import content, envelope
from services.protocol.envelope import b64u_decode, b64u_encode

SERVER = "http://127.0.0.1:1"
NAMES = ("ana at the front desk", "bob from accounting", "zoë, née Ødegård")


class FakeApi:
    """Records what ``send``, ``read_status`` and ``revoke`` ask of the api, and
    answers as a server with several recipients would (or an older one)."""

    server = SERVER

    def __init__(self, *, links: bool = True, receipt: dict[str, Any] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.links = links
        self.receipt_answer = receipt
        self.revoked: list[tuple[str, int | None]] = []
        self.share_route = True

    async def limits(self) -> dict[str, Any]:
        return {"segment_size": 1024, "max_recipients": 50}

    async def create_content(self, body: dict[str, Any], _progress: Any = None) -> dict[str, Any]:
        self.bodies.append(json.loads(json.dumps(body)))  # what went over the wire
        count = len(body.get("recipients", [body]))
        answer: dict[str, Any] = {
            "id": "share0000000000000000",
            "expires_at": "2030-01-01T00:00:00Z",
            "max_views": sum(r.get("max_views", 1) for r in body.get("recipients", [body])),
        }
        if self.links and "recipients" in body:
            answer["links"] = [
                {"recipient": i, "id": f"link{i:018d}", "max_views": r.get("max_views", 1)}
                for i, r in enumerate(body["recipients"])
            ][:count]
        return answer

    async def receipt(self, _secret_id: str, _manage: bytes) -> dict[str, Any]:
        assert self.receipt_answer is not None
        answer: dict[str, Any] = json.loads(json.dumps(self.receipt_answer))
        return answer

    async def revoke_share(self, _share_id: str, _manage: bytes, recipient: int | None) -> None:
        if not self.share_route:
            raise ApiError(404, {"type": "urn:burnafter:problem:no-such-route"})
        self.revoked.append(("share", recipient))

    async def revoke(self, _secret_id: str, _manage: bytes) -> None:
        self.revoked.append(("secret", None))


async def _send(api: FakeApi, **options: Any) -> api_client.Sent:
    return await contents.send(cast(Api, api), "the secret", segment_size=1024, **options)


async def test_one_content_sealed_once_and_a_link_of_its_own_for_each_recipient() -> None:
    api = FakeApi()
    recipients = [
        Recipient(NAMES[0]),
        Recipient(NAMES[1], passphrase="correct horse", max_views=3),
        Recipient(None, max_views=2),
    ]
    sent = await _send(api, recipients=recipients)
    (body,) = api.bodies
    wire = json.dumps(body)
    for name in NAMES:  # the server never reads a name
        assert name not in wire
        assert b64u_encode(name.encode()) not in wire
    for per_link in ("claim_verifier", "unlock_verifier", "wrapped_key", "max_views"):
        assert per_link not in body
    assert "manage_verifier" in body
    entries = body["recipients"]
    assert len(entries) == 3
    assert [e.get("max_views") for e in entries] == [None, 3, 2]
    assert ["unlock_verifier" in e for e in entries] == [False, True, False]
    assert "name" not in entries[2]

    assert [(s.recipient, s.name, s.max_views) for s in sent.recipients] == [
        (0, NAMES[0], 1),
        (1, NAMES[1], 3),
        (2, None, 2),
    ]
    assert [s.link.id for s in sent.recipients] == [f"link{i:018d}" for i in range(3)]
    assert sent.link == sent.recipients[0].link
    assert sent.receipt_link.id == "share0000000000000000"
    assert len({s.link.key for s in sent.recipients} | {sent.receipt_link.key}) == 4

    content_keys = set()
    for entry, to, passphrase in zip(
        entries, sent.recipients, (None, "correct horse", None), strict=True
    ):
        keys = content.derive_link_keys(to.link.key, passphrase)
        assert b64u_decode(entry["claim_verifier"]) == envelope.verifier(keys.claim)
        content_keys.add(content.unwrap_content_key(keys.wrap, b64u_decode(entry["wrapped_key"])))
    assert len(content_keys) == 1  # one content key, wrapped once per link

    receipt_key = sent.receipt_link.key
    for number in (0, 1):
        sealed = b64u_decode(entries[number]["name"])
        assert envelope.open_recipient_name(receipt_key, number, sealed) == NAMES[number]
        with pytest.raises(envelope.EnvelopeError):  # sealed for its own place only
            envelope.open_recipient_name(receipt_key, 1 - number, sealed)


async def test_without_recipients_the_body_is_as_before() -> None:
    api = FakeApi()
    sent = await _send(api, passphrase="pw", max_views=2)
    (body,) = api.bodies
    assert "recipients" not in body
    assert {"claim_verifier", "unlock_verifier", "wrapped_key", "manage_verifier"} <= set(body)
    assert body["max_views"] == 2
    assert sent.recipients == ()
    assert sent.link.id == "share0000000000000000"


async def test_recipients_take_their_own_passphrase_and_views() -> None:
    with pytest.raises(ValueError, match="each Recipient"):
        await _send(FakeApi(), recipients=[Recipient("somebody")], passphrase="pw")
    with pytest.raises(ValueError, match="each Recipient"):
        await _send(FakeApi(), recipients=[Recipient("somebody")], max_views=2)


async def test_a_server_that_answers_no_links_is_refused_before_any_upload() -> None:
    with pytest.raises(ClientError, match="a link for each recipient"):
        await _send(FakeApi(links=False), recipients=[Recipient("a"), Recipient("b")])


@pytest.mark.parametrize(
    ("names", "most", "says"),
    [
        (["a", "b", "c"], 2, "too many recipients: 3; this server sends a secret to at most 2"),
        (["twin name", "other", "twin name"], None, "recipients 1 and 3 have the same name"),
        (["x" * 257], None, "the name of recipient 1 is 257 bytes: a name is at most 256"),
        (["ok", "é" * 129], None, "the name of recipient 2 is 258 bytes"),
        (["a\0b"], None, "without NUL"),
        ([""], None, "recipient 1 has an empty name"),
    ],
)
def test_recipients_a_share_cannot_have(names: list[str], most: int | None, says: str) -> None:
    with pytest.raises(ClientError) as refused:
        contents.check_recipients([Recipient(n) for n in names], most)
    assert says in str(refused.value)
    for name in names:  # never repeated: a name is the sender's private note
        assert len(name) < 2 or name not in str(refused.value)


def test_a_name_of_256_bytes_and_fifty_recipients_pass() -> None:
    contents.check_recipients([Recipient("é" * 128)], 1)
    contents.check_recipients([Recipient(f"r{i}") for i in range(50)], 50)


def test_the_server_says_how_many_recipients_or_is_too_old() -> None:
    assert contents.max_recipients_of({"max_recipients": 7}) == 7
    with pytest.raises(ClientError, match="older than this client"):
        contents.max_recipients_of({"segment_size": 1024})


def _receipt_link(key: bytes) -> Link:
    return make_link(SERVER, "r", "share0000000000000000", key)


def _receipt_with(receipt_key: bytes, names: list[str | None]) -> dict[str, Any]:
    return {
        "state": "active", "label": None, "views": 1, "max_views": 3, "passphrase": False,
        "failed_attempts": 0, "max_attempts": 5, "created_at": "c", "expires_at": "e",
        "ended_at": None, "notify": [], "notifications": [],
        "recipients": [
            {
                "recipient": i, "id": f"link{i}", "state": "viewed" if i == 1 else "active",
                "views": 1 if i == 1 else 0, "max_views": 1, "failed_attempts": 0,
                "passphrase": False, "ended_at": "2030-01-01T00:00:00Z" if i == 1 else None,
                "name": None if name is None
                else b64u_encode(envelope.seal_recipient_name(receipt_key, i, name)),
            }
            for i, name in enumerate(names)
        ],
        "events": [
            {"at": "t0", "event": "created", "recipient": 0, "client_address": None,
             "user_agent": None},
            {"at": "t1", "event": "viewed", "recipient": 1, "client_address": "127.0.0.0",
             "user_agent": "burnafter-cli/1"},
        ],
    }  # fmt: skip


async def test_status_opens_each_name_with_the_key_of_its_place() -> None:
    receipt_key = envelope.new_link_key()
    api = FakeApi(receipt=_receipt_with(receipt_key, [NAMES[0], NAMES[1], None]))
    receipt = await api_client.read_status(cast(Api, api), _receipt_link(receipt_key))
    assert [r["name"] for r in receipt["recipients"]] == [NAMES[0], NAMES[1], None]
    assert api_client.recipient_named(receipt, NAMES[1]) == 1
    with pytest.raises(ClientError, match="no recipient of this share has that name"):
        api_client.recipient_named(receipt, "nobody of that name")


async def test_a_name_opens_with_the_number_of_its_recipient_wherever_it_is_listed() -> None:
    receipt_key = envelope.new_link_key()
    listed = _receipt_with(receipt_key, [NAMES[0], NAMES[1], NAMES[2]])
    listed["recipients"].reverse()
    api = FakeApi(receipt=listed)
    receipt = await api_client.read_status(cast(Api, api), _receipt_link(receipt_key))
    assert [r["name"] for r in receipt["recipients"]] == [NAMES[2], NAMES[1], NAMES[0]]
    assert api_client.recipient_named(receipt, NAMES[0]) == 0  # revoked by its number


async def test_a_name_moved_to_another_recipient_does_not_open() -> None:
    receipt_key = envelope.new_link_key()
    swapped = _receipt_with(receipt_key, [NAMES[0], NAMES[1]])
    first, second = swapped["recipients"]
    first["name"], second["name"] = second["name"], first["name"]
    api = FakeApi(receipt=swapped)
    with pytest.raises(ClientError, match="was altered"):
        await api_client.read_status(cast(Api, api), _receipt_link(receipt_key))


async def test_revoke_one_recipient_or_all_and_an_older_server() -> None:
    api = FakeApi()
    link = _receipt_link(envelope.new_link_key())
    await api_client.revoke(cast(Api, api), link, 2)
    await api_client.revoke(cast(Api, api), link)
    assert api.revoked == [("share", 2), ("share", None)]
    api.share_route = False
    await api_client.revoke(cast(Api, api), link)
    assert api.revoked[-1] == ("secret", None)
    with pytest.raises(ApiError):  # one recipient: an older server has none
        await api_client.revoke(cast(Api, api), link, 1)


def test_to_takes_a_name_each_time_or_several_at_once() -> None:
    parser = build_parser()
    args = parser.parse_args(["send", "--to", "ana", "--to", "bob", "zoë", "--views", "2"])
    assert args.to == ["ana", "bob", "zoë"]
    assert args.views == 2
    assert parser.parse_args(["send"]).to == []
    assert parser.parse_args(["revoke", "--to", "bob"]).to == "bob"


@pytest.mark.parametrize("name", ["x" * 257, "é" * 129, "two\nlines", "\x1b[31mred", "", "  "])
def test_to_refuses_a_name_a_share_cannot_have(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(["send", "--to", name])
    assert usage.value.code == 2
    error = capsys.readouterr().err
    assert "argument --to: a name" in error
    assert len(name.strip()) < 2 or name not in error


def test_status_in_words_names_each_recipient_and_whose_events() -> None:
    receipt = _receipt_with(envelope.new_link_key(), [])
    receipt["recipients"] = [
        {"recipient": 0, "name": "ana", "state": "active", "views": 0, "max_views": 1,
         "failed_attempts": 0, "ended_at": None},
        {"recipient": 1, "name": "bob", "state": "viewed", "views": 1, "max_views": 1,
         "failed_attempts": 0, "ended_at": "2030-01-01T00:00:00Z"},
        {"recipient": 2, "name": None, "state": "revoked", "views": 0, "max_views": 2,
         "failed_attempts": 2, "ended_at": "2030-01-02T00:00:00Z"},
    ]  # fmt: skip
    lines = describe_receipt(receipt)
    at = lines.index("recipients:")
    assert lines[at + 1 : at + 4] == [
        "  ana          active                 views 0/1",
        "  bob          viewed                 views 1/1  ended 2030-01-01T00:00:00Z",
        (
            "  recipient 3  revoked by its sender  views 0/2, 2 wrong passphrases"
            "  ended 2030-01-02T00:00:00Z"
        ),
    ]
    assert "  t1  viewed           bob          127.0.0.0 burnafter-cli/1" in lines


def test_a_share_of_one_unnamed_link_reads_as_before() -> None:
    receipt = _receipt_with(envelope.new_link_key(), [])
    receipt["recipients"] = [
        {"recipient": 0, "name": None, "state": "active", "views": 0, "max_views": 1,
         "failed_attempts": 0, "ended_at": None},
    ]  # fmt: skip
    lines = describe_receipt(receipt)
    assert "recipients:" not in lines
    assert "  t1  viewed           127.0.0.0 burnafter-cli/1" in lines


def test_names_are_printed_without_control_or_format_characters() -> None:
    assert shown_name("\x1b[31mana\u202e") == "_[31mana_"
