"""``burnafter send --to NAME …`` (issue 16): one secret sealed once, a link of its
own for each recipient, one receipt for them all. The CLI as a user runs it, against
an api on real PostgreSQL; every name and key is on the leak watch, so the session's
check finds any that reached the database or a log in clear."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from services.cli.client_commands import ExitCode
from services.client.links import Link, parse_link
from tests.support.cli import cli
from tests.support.fixtures_types import AiohttpClient
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import secret_text
from tests.support.services import make_settings


def names(*who: str) -> list[str]:
    """Recipients' names, long enough for the leak watch to look for, which it does."""
    tag = os.urandom(4).hex()
    made = [f"{one} ({tag})" for one in who]
    for name in made:
        LEAK_WATCH.add("recipient name", name)
    return made


def sent_links(stdout: bytes, stderr: bytes, passphrase: str | None = None) -> dict[str, Link]:
    """The ``NAME: LINK`` lines of ``send --to`` (in order), each link watched."""
    links = {}
    for line in stdout.decode().splitlines():
        name, _, link = line.rpartition(": ")
        links[name] = parse_link(link, "s")
        LEAK_WATCH.add_share_link(links[name], passphrase)
    LEAK_WATCH.add_receipt_link(receipt_of(stderr))
    return links


def receipt_of(stderr: bytes) -> Link:
    line = stderr.decode().strip().splitlines()[-1]
    assert line.startswith("receipt (keep it private): "), stderr
    return parse_link(line.rpartition(" ")[2], "r")


def recipient_lines(status: bytes) -> list[str]:
    """The lines of ``status``'s recipients section, without their indent."""
    lines = status.decode().splitlines()
    start = lines.index("recipients:") + 1
    end = lines.index("events:")
    return [line.strip() for line in lines[start:end]]


async def test_three_recipients_each_open_their_own_link_once(base_url: str) -> None:
    text = secret_text()
    ana, bob, zoe = names("Ana at the front desk", "Bob from accounting", "Zoë Ødegård")
    sent = await cli(
        "send", "--server", base_url, "--to", ana, "--to", bob, zoe, stdin=text.encode()
    )
    assert sent.returncode == 0, sent.stderr
    links = sent_links(sent.stdout, sent.stderr)
    assert list(links) == [ana, bob, zoe]  # one line each, in the order given
    assert len({link.id for link in links.values()}) == 3
    assert len({link.key for link in links.values()}) == 3
    assert b"each link can be viewed once, until " in sent.stderr
    receipt = receipt_of(sent.stderr)

    for name in (ana, bob):
        opened = await cli("open", str(links[name]))
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout == text.encode() + b"\n"
        assert b"that was the last view" in opened.stderr
    again = await cli("open", str(links[bob]))
    assert again.returncode == ExitCode.GONE
    assert b"gone" in again.stderr

    status = await cli("status", str(receipt))
    assert status.returncode == 0, status.stderr
    assert b"state:     active\n" in status.stdout  # while any link is
    assert b"views:     viewed 2 times, 1 view left\n" in status.stdout
    said = recipient_lines(status.stdout)
    assert [line.split("  ")[0] for line in said] == [ana, bob, zoe]
    for line in said[:2]:
        assert re.search(r"  viewed  +views 1/1  ended \d{4}-\d\d-\d\dT", line), line
    assert re.search(r"  active  +views 0/1$", said[2]), said[2]
    events = status.stdout.decode().partition("\nevents:\n")[2].splitlines()
    viewed = [line for line in events if "  viewed  " in line]
    assert [bool(ana in line) for line in viewed] == [True, False]  # who opened, in order
    assert bob in viewed[1]

    as_json = await cli("status", str(receipt), "--json")
    assert as_json.returncode == 0, as_json.stderr
    recipients = json.loads(as_json.stdout)["recipients"]
    assert [(r["recipient"], r["name"], r["state"], r["views"]) for r in recipients] == [
        (0, ana, "viewed", 1),
        (1, bob, "viewed", 1),
        (2, zoe, "active", 0),
    ]
    assert [r["id"] for r in recipients] == [links[n].id for n in (ana, bob, zoe)]

    last = await cli("open", str(links[zoe]))
    assert last.returncode == 0, last.stderr
    assert last.stdout == text.encode() + b"\n"


async def test_revoking_one_recipient_leaves_the_others_working(base_url: str) -> None:
    text = secret_text()
    ana, bob, zoe = names("Ana at the front desk", "Bob from accounting", "Zoë Ødegård")
    sent = await cli(
        "send", "--server", base_url, "--to", ana, bob, zoe, "--views", "2", stdin=text.encode()
    )
    assert sent.returncode == 0, sent.stderr
    assert b"each link can be viewed 2 times" in sent.stderr
    links = sent_links(sent.stdout, sent.stderr)
    receipt = str(receipt_of(sent.stderr))

    revoked = await cli("revoke", receipt, "--to", bob, "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout) == {"revoked": True, "recipient": 1}
    assert (await cli("open", str(links[bob]))).returncode == ExitCode.GONE
    for name in (ana, zoe):
        opened = await cli("open", str(links[name]))
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout == text.encode() + b"\n"
        assert b"1 view left" in opened.stderr

    status = await cli("status", receipt)
    assert b"state:     active\n" in status.stdout
    said = recipient_lines(status.stdout)
    assert " revoked by its sender " in said[1]
    assert said[1].startswith(bob)
    assert " active " in said[0]
    assert " active " in said[2]

    again = await cli("revoke", receipt, "--to", bob)
    assert again.returncode == ExitCode.GONE
    assert again.stderr == b"burnafter: that recipient's link was already revoked\n"
    nobody = await cli("revoke", receipt, "--to", "nobody of that name")
    assert nobody.returncode == ExitCode.ERROR
    assert b"no recipient of this share has that name" in nobody.stderr

    everyone = await cli("revoke", receipt)
    assert everyone.returncode == 0, everyone.stderr
    for name in (ana, zoe):
        assert (await cli("open", str(links[name]))).returncode == ExitCode.GONE
    status = await cli("status", receipt, "--json")
    assert [r["state"] for r in json.loads(status.stdout)["recipients"]] == ["revoked"] * 3


async def test_json_gives_each_recipients_link_and_views(base_url: str, tmp_path: Path) -> None:
    text = secret_text()
    passphrase = f"pass-{os.urandom(6).hex()}"
    LEAK_WATCH.add("passphrase", passphrase)
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(passphrase + "\n")
    ana, bob = names("Ana at the front desk", "Bob from accounting")
    sent = await cli(
        "send", "--server", base_url, "--json", "--to", ana, "--to", bob, "--views", "3",
        "--passphrase-file", str(passphrase_file), "--expires", "1h", stdin=text.encode(),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert sent.stderr == b""
    result = json.loads(sent.stdout)
    assert set(result) == {
        "recipients",
        "receipt",
        "expires_at",
        "max_views",
        "recipient_may_delete",
    }
    assert [(r["name"], r["max_views"]) for r in result["recipients"]] == [(ana, 3), (bob, 3)]
    assert all(set(r) == {"name", "link", "max_views"} for r in result["recipients"])
    assert result["max_views"] == 6
    assert result["recipient_may_delete"] is False
    for each in result["recipients"]:
        LEAK_WATCH.add_share_link(parse_link(each["link"], "s"), passphrase)
    LEAK_WATCH.add_receipt_link(parse_link(result["receipt"], "r"))

    link = result["recipients"][1]["link"]
    missing = await cli("open", link)
    assert missing.returncode == ExitCode.PASSPHRASE
    opened = await cli("open", link, "--passphrase-file", str(passphrase_file), "--json")
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["text"] == text
    assert json.loads(opened.stdout)["views_left"] == 2


@dataclass
class RoutesSeen:
    url: str = ""
    routes: list[str] = field(default_factory=list)


async def test_more_recipients_than_the_server_takes_are_refused_before_any_upload(
    aiohttp_client: AiohttpClient, database_url: str, test_log: Path, db: asyncpg.Connection
) -> None:
    from services.api.app import create_app

    app = create_app(make_settings(database_url, MAX_RECIPIENTS="2"))
    seen = RoutesSeen()

    async def note(request: web.Request, response: web.StreamResponse) -> None:
        seen.routes.append(request.match_info.route.name or request.path)

    app.on_response_prepare.append(note)
    seen.url = str((await aiohttp_client(app)).make_url("")).rstrip("/")
    three = names("first recipient", "second recipient", "third recipient")
    sent = await cli("send", "--server", seen.url, "--to", *three, stdin=secret_text().encode())
    assert sent.returncode == ExitCode.ERROR
    assert sent.stdout == b""
    assert sent.stderr == (
        b"burnafter: too many recipients: 3; this server sends a secret to at most 2 "
        b"at once; nothing was sent\n"
    )
    assert seen.routes == ["limits"]  # asked the limit, and sent nothing
    assert await db.fetchval("SELECT count(*) FROM contents") == 0

    two = await cli("send", "--server", seen.url, "--to", *three[:2], stdin=secret_text().encode())
    assert two.returncode == 0, two.stderr
    assert len(sent_links(two.stdout, two.stderr)) == 2


@pytest.mark.parametrize(
    ("to", "says"),
    [
        (["same person here", "someone else", "same person here"], "--to: recipients 1 and 3"),
        (["é" * 129], "argument --to: a name is at most 256 bytes of UTF-8 text; one is 258"),
        (["a name\non two lines"], "argument --to: a name is one line"),
    ],
)  # fmt: skip
async def test_names_a_share_cannot_have_are_refused_before_anything(
    to: list[str], says: str
) -> None:
    # Port 9 (discard) answers nothing: a command that reached the network would say so.
    sent = await cli("send", "--server", "http://127.0.0.1:9", "--to", *to, stdin=b"secret")
    assert sent.returncode == ExitCode.USAGE
    assert says.encode() in sent.stderr
    assert sent.stdout == b""
    for name in to:  # never repeated: a name is the sender's private note
        assert name.encode() not in sent.stderr
