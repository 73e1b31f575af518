"""The store's SQL under pgbench: PostgreSQL's own load generator, in C, running
exactly the statements of a create and a reveal (taken from ``store``, with the
parameters written in), so no client code of ours is in the way; and, as the floor
any store of a row and its read-once could reach, a bare pair on the same server:
one INSERT of a row of the same ciphertext, then DELETE ... RETURNING it."""

from __future__ import annotations

import re
import subprocess
import tempfile
from urllib.parse import parse_qs, urlsplit

from services.store import secrets

# A fresh 22-character id per pair, from a random number pgbench draws.
_ID = "('pgbench' || lpad(:n::text, 15, '0'))"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _bind(sql: str, values: dict[int, str]) -> str:
    """The statement on one line, with ``$n`` replaced by ``values[n]``."""
    bound = re.sub(r"\$(\d+)", lambda match: values[int(match.group(1))], sql)
    return " ".join(bound.split())


# The bare pair's table: an id and the ciphertext, nothing else.
BARE_TABLE = "CREATE TABLE IF NOT EXISTS bench_bare (id text PRIMARY KEY, data bytea NOT NULL)"


def script(claim_verifier: bytes, ciphertext: bytes, access: secrets.Access) -> str:
    """A create and a reveal as the api makes them in ``make bench``: no storage cap
    and no quota (bench/suite.py), one view, no passphrase."""
    create = _bind(
        secrets.CREATE,
        {
            1: _ID,
            2: _literal(ciphertext),
            3: _literal(claim_verifier),
            4: "NULL::bytea",
            5: "1",
            6: "5",
            7: "3600",
            8: _literal(claim_verifier),
            9: "NULL::bytea",
            10: _literal(access.client_address),
            11: _literal(access.user_agent),
            12: "NULL",  # creator: anonymous
            13: "'{}'::text[]",  # notify: nobody
            14: "0",  # no storage cap
            15: "'pgbench'",  # quota_key: one sender
            16: "0",  # no quota
            17: "false",  # recipient_may_delete
        },
    )
    reveal = _bind(
        secrets.REVEAL,
        {
            1: _ID,
            2: _literal(claim_verifier),
            3: "NULL::bytea",
            4: _literal(access.client_address),
            5: _literal(access.user_agent),
        },
    )
    return f"\\set n random(1, 999999999999999)\n{create};\n{reveal};\n"


def bare_script(ciphertext: bytes) -> str:
    row = "'bare' || lpad(:n::text, 15, '0')"
    return (
        "\\set n random(1, 999999999999999)\n"
        f"INSERT INTO bench_bare (id, data) VALUES ({row}, {_literal(ciphertext)});\n"
        f"DELETE FROM bench_bare WHERE id = {row} RETURNING data;\n"
    )


def _connection(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    return ["-h", host, "-U", parts.username or "postgres", parts.path.lstrip("/")]


def _transactions_per_second(url: str, text: str, clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(text)
        file.flush()
        out = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
             "-T", str(seconds), "-f", file.name, *_connection(url)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    match = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    assert match, out
    return float(match.group(1))


def pairs_per_second(
    url: str, claim_verifier: bytes, ciphertext: bytes, access: secrets.Access,
    clients: int, seconds: int,
) -> float:  # fmt: skip
    """Create+reveal pairs per second that pgbench gets through."""
    return _transactions_per_second(
        url, script(claim_verifier, ciphertext, access), clients, seconds
    )


def bare_pairs_per_second(url: str, ciphertext: bytes, clients: int, seconds: int) -> float:
    """Bare INSERT + DELETE ... RETURNING pairs per second, on the same server."""
    subprocess.run(["psql", "-q", "-c", "SET client_min_messages = warning", "-c", BARE_TABLE,
                    *_connection(url)], check=True)  # fmt: skip
    return _transactions_per_second(url, bare_script(ciphertext), clients, seconds)


if __name__ == "__main__":
    print(script(bytes(32), b"\x01" * 40, secrets.Access("127.0.0.0/24", None)))
    print(bare_script(b"\x01" * 40))
