"""The store's SQL under pgbench: PostgreSQL's own load generator, in C, running
exactly the statements of a create and a reveal (taken from ``store``, with the
parameters written in), so no client code of ours is in the way."""

from __future__ import annotations

import re
import subprocess
import tempfile
from urllib.parse import parse_qs, urlsplit

from services.server.settings import Limits
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


def script(claim_verifier: bytes, ciphertext: bytes, access: secrets.Access) -> str:
    limits = Limits()  # the default cap and quota: counted as in production
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
            14: str(limits.max_stored_ciphertext_bytes),
            15: "'pgbench'",  # quota_key: one sender
            16: str(limits.max_stored_ciphertext_bytes_per_sender),
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


def pairs_per_second(
    url: str, claim_verifier: bytes, ciphertext: bytes, access: secrets.Access,
    clients: int, seconds: int,
) -> float:  # fmt: skip
    """Create+reveal pairs per second that pgbench gets through."""
    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script(claim_verifier, ciphertext, access))
        file.flush()
        out = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
             "-T", str(seconds), "-f", file.name, "-h", host,
             "-U", parts.username or "postgres", parts.path.lstrip("/")],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    match = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    assert match, out
    return float(match.group(1))


if __name__ == "__main__":
    print(script(bytes(32), b"\x01" * 40, secrets.Access("127.0.0.0/24", None)))
