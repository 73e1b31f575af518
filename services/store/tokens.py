"""API tokens for automation: ``bat_<id>_<secret>``. The id finds the row; only
SHA-256 of the secret is stored, and it is compared in constant time. A token is
shown once, when it is made."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.protocol.envelope import b64u_encode
from services.store.errors import TokenNameTaken

PREFIX = "bat"
_TOKEN = re.compile(r"^bat_([A-Za-z0-9_-]{11})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_OWNER_CHARS = 254
MAX_EXPIRES_DAYS = 3650
_DAYS = re.compile(r"[0-9]{1,4}")


def is_valid_name(name: str) -> bool:
    """Lower-case letters, digits, ``.``, ``_`` and ``-``; up to 64."""
    return _NAME.fullmatch(name) is not None


def is_valid_owner(owner: str) -> bool:
    """Who answers for a token: printable (no NUL, no control characters), up to 254."""
    return 0 < len(owner) <= MAX_OWNER_CHARS and owner.isprintable()


def expiry_days(text: str) -> int:
    """Days a token lives, 1 to :data:`MAX_EXPIRES_DAYS`, written in ASCII digits
    (``str.isdigit`` also takes ``²``, which ``int`` refuses); else ValueError."""
    if _DAYS.fullmatch(text) is None or not 1 <= int(text) <= MAX_EXPIRES_DAYS:
        raise ValueError(f"1 to {MAX_EXPIRES_DAYS} days")
    return int(text)


@dataclass(frozen=True)
class ApiToken:
    id: str
    name: str
    owner: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


_INSERT = """
INSERT INTO api_tokens (id, name, owner, secret_hash, expires_at)
VALUES ($1, $2, $3, $4, CASE WHEN $5::integer IS NULL THEN NULL
                             ELSE now() + make_interval(secs => $5) END)
RETURNING id, name, owner, created_at, expires_at, revoked_at, last_used_at
"""


async def create_token(
    pool: asyncpg.Pool, name: str, owner: str, expires_in: int | None
) -> tuple[str, ApiToken]:
    """A new token: its value (to show once) and its record."""
    token_id = b64u_encode(os.urandom(8))
    secret = b64u_encode(os.urandom(32))
    try:
        row = await pool.fetchrow(_INSERT, token_id, name, owner, _hash(secret), expires_in)
    except asyncpg.UniqueViolationError:
        raise TokenNameTaken(name) from None
    return f"{PREFIX}_{token_id}_{secret}", ApiToken(**dict(row))


_LIST = """
SELECT id, name, owner, created_at, expires_at, revoked_at, last_used_at
FROM api_tokens ORDER BY created_at DESC
"""


async def list_tokens(pool: asyncpg.Pool) -> list[ApiToken]:
    return [ApiToken(**dict(row)) for row in await pool.fetch(_LIST)]


_REVOKE = """
UPDATE api_tokens SET revoked_at = now()
WHERE name = $1 AND revoked_at IS NULL
RETURNING id, name, owner, created_at, expires_at, revoked_at, last_used_at
"""


async def revoke_token(pool: asyncpg.Pool, name: str) -> ApiToken | None:
    """Revoke the live token of that name; None if there is none."""
    row = await pool.fetchrow(_REVOKE, name)
    return None if row is None else ApiToken(**dict(row))


_FIND = """
SELECT secret_hash, name
FROM api_tokens
WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
"""
_USED = "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"


async def authenticate(pool: asyncpg.Pool, presented: str) -> str | None:
    """The name of the live token presented, or None."""
    match = _TOKEN.match(presented)
    if match is None:
        return None
    token_id, secret = match.groups()
    row = await pool.fetchrow(_FIND, token_id)
    if row is None or not hmac.compare_digest(_hash(secret), row["secret_hash"]):
        return None
    await pool.execute(_USED, token_id)
    name: str = row["name"]
    return name
