"""The Python client: the v1 API over HTTP, and the envelope around it.

``send``/``open_link``/``read_status``/``revoke`` do on the client everything the
protocol asks (keys, proofs, encryption), so the server sees only ciphertext and
verifiers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from services.client.links import Link, make_link
from services.protocol import envelope
from services.protocol.envelope import (
    Payload,
    ReceiptKeys,
    SecretKeys,
    b64u_decode,
    b64u_encode,
)

USER_AGENT = "burnafter-cli/1"


class ClientError(Exception):
    """Anything the user of the client should be told; ``str`` is a one-line message."""


class ServerUnreachable(ClientError):
    pass


class InsecureServer(ClientError):
    pass


class ApiError(ClientError):
    """A problem response from the api."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(str(problem.get("detail") or f"the server answered {status}"))
        self.status = status
        self.problem = problem

    @property
    def kind(self) -> str:
        return str(self.problem.get("type", "")).rpartition(":")[2]


def check_transport(server: str, insecure: bool) -> None:
    """Plain http is allowed to loopback only, unless ``insecure``: the share link's
    key never travels, but the ciphertext and proofs would, in the clear."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"the server must be an http(s) URL, got {server!r}")
    if parts.scheme == "https" or insecure:
        return
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise InsecureServer(
            f"refusing plain http to {host}: use https, or --insecure if you really mean it"
        )


class Api:
    """Thin async wrapper of the v1 endpoints; binary fields in and out are bytes."""

    def __init__(
        self,
        server: str,
        *,
        timeout: float = 30.0,
        insecure: bool = False,
        api_token: str | None = None,
    ) -> None:
        check_transport(server, insecure)
        self.server = server.rstrip("/")
        self._api_token = api_token  # sent when creating, where the policy asks who sends
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, headers={"User-Agent": USER_AGENT}
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        assert self._session is not None, "use Api as an async context manager"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self._session.request(
                method, f"{self.server}/api/v1{path}", json=body, headers=headers
            ) as response:
                if response.status == 204:
                    return None
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                if response.status >= 400 or not isinstance(data, dict):
                    problem = data if isinstance(data, dict) else {}
                    raise ApiError(response.status, problem)
                return data
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ServerUnreachable(
                f"cannot reach the server at {self.server} ({type(exc).__name__})"
            ) from None

    async def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/limits", token=self._api_token)
        return result

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/secrets", body, self._api_token)
        return result

    async def peek(self, secret_id: str, claim: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", f"/secrets/{secret_id}/peek", {"claim": b64u_encode(claim)}
        )
        return result

    async def reveal(self, secret_id: str, claim: bytes, unlock: bytes | None) -> dict[str, Any]:
        body = {"claim": b64u_encode(claim)}
        if unlock is not None:
            body["unlock"] = b64u_encode(unlock)
        result: dict[str, Any] = await self._call("POST", f"/secrets/{secret_id}/reveal", body)
        return result

    async def receipt(self, secret_id: str, manage: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", f"/receipts/{secret_id}", token=b64u_encode(manage)
        )
        return result

    async def revoke(self, secret_id: str, manage: bytes) -> None:
        await self._call("DELETE", f"/secrets/{secret_id}", token=b64u_encode(manage))


@dataclass(frozen=True)
class Sent:
    link: Link
    receipt_link: Link
    expires_at: str
    max_views: int


@dataclass(frozen=True)
class PreparedSecret:
    """A secret sealed on the client: the create request body, and the keys that
    only the sender keeps (they go into the links' fragments)."""

    body: dict[str, Any]
    link_key: bytes
    keys: SecretKeys
    receipt_key: bytes
    receipt_keys: ReceiptKeys


def prepare_secret(
    payload: Payload,
    *,
    passphrase: str | None = None,
    max_views: int | None = None,
    expires_in: int | None = None,
    label: str | None = None,
    notify: tuple[str, ...] = (),
) -> PreparedSecret:
    """Encrypt ``payload`` and derive every proof; the body holds only ciphertext,
    verifiers and the sealed label."""
    sealed = envelope.seal_secret(payload, passphrase)
    receipt_key = envelope.new_link_key()
    receipt_keys = envelope.derive_receipt_keys(receipt_key)
    body: dict[str, Any] = {
        "ciphertext": b64u_encode(sealed.ciphertext),
        "claim_verifier": b64u_encode(envelope.verifier(sealed.keys.claim)),
        "manage_verifier": b64u_encode(envelope.verifier(receipt_keys.manage)),
    }
    if sealed.keys.unlock is not None:
        body["unlock_verifier"] = b64u_encode(envelope.verifier(sealed.keys.unlock))
    if label:
        body["label"] = b64u_encode(envelope.seal(receipt_keys.label, envelope.encode_label(label)))
    if max_views is not None:
        body["max_views"] = max_views
    if expires_in is not None:
        body["expires_in"] = expires_in
    if notify:
        body["notify"] = list(notify)
    return PreparedSecret(body, sealed.link_key, sealed.keys, receipt_key, receipt_keys)


async def send(
    api: Api,
    payload: Payload,
    *,
    passphrase: str | None = None,
    max_views: int | None = None,
    expires_in: int | None = None,
    label: str | None = None,
    notify: tuple[str, ...] = (),
) -> Sent:
    """Encrypt ``payload`` here and store only the ciphertext and verifiers."""
    prepared = prepare_secret(
        payload,
        passphrase=passphrase,
        max_views=max_views,
        expires_in=expires_in,
        label=label,
        notify=notify,
    )
    created = await api.create(prepared.body)
    return Sent(
        link=make_link(api.server, "s", created["id"], prepared.link_key),
        receipt_link=make_link(api.server, "r", created["id"], prepared.receipt_key),
        expires_at=created["expires_at"],
        max_views=created["max_views"],
    )


@dataclass(frozen=True)
class Opened:
    payload: Payload
    views_left: int


async def open_link(api: Api, link: Link, passphrase: str | None = None) -> Opened:
    """Spend one view of ``link`` and decrypt it here."""
    keys = envelope.derive_secret_keys(link.key, passphrase)
    revealed = await api.reveal(link.id, keys.claim, keys.unlock)
    payload = envelope.open_secret(b64u_decode(revealed["ciphertext"]), keys)
    return Opened(payload, revealed["views_left"])


async def read_status(api: Api, receipt_link: Link) -> dict[str, Any]:
    """The receipt, with its label decrypted in place."""
    keys = envelope.derive_receipt_keys(receipt_link.key)
    receipt = await api.receipt(receipt_link.id, keys.manage)
    if receipt.get("label"):
        sealed_label = b64u_decode(receipt["label"])
        receipt["label"] = envelope.decode_label(envelope.unseal(keys.label, sealed_label))
    return receipt


async def revoke(api: Api, receipt_link: Link) -> None:
    await api.revoke(receipt_link.id, envelope.derive_receipt_keys(receipt_link.key).manage)
