"""The Python client: the API over HTTP (``Api``), v1's sealed secret
(``prepare_secret``), and the actions on a link that do not move a content
(``delete``, ``read_status``, ``revoke``). Sending and opening, in protocol v2
(and opening v1), are ``services.client.contents``.

Every function does on the client everything the protocol asks (keys, proofs,
encryption), so the server sees only ciphertext and verifiers."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractStreamWriter

from services.client.links import Link
from services.client.translated import _
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


class NoAnswer(ServerUnreachable):
    """The server was silent for ``seconds``: no connection, no byte of the
    request taken, or no byte of its answer, for that long."""

    def __init__(self, server: str, seconds: float) -> None:
        super().__init__(
            _("no answer from %(server)s within %(seconds)s s")
            % {"server": server, "seconds": f"{seconds:g}"}
        )
        self.server = server
        self.seconds = seconds


class InsecureServer(ClientError):
    pass


class ApiError(ClientError):
    """A problem response from the api."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        # The server's own words (English) where it says more than its status.
        detail = problem.get("detail") or _("the server answered %(status)s") % {"status": status}
        super().__init__(str(detail))
        self.status = status
        self.problem = problem

    @property
    def kind(self) -> str:
        return str(self.problem.get("type", "")).rpartition(":")[2]


# What a transfer has come to: (phase, bytes done, bytes in all). The phases are
# "encrypting", "uploading", "downloading" and "decrypting".
Progress = Callable[[str, int, int], None]
CHUNK_BYTES = 64 * 1024


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


class _Body(aiohttp.Payload):
    """A request body written in chunks, each reported to ``on_sent`` once the
    writer has taken it (the writer waits while the socket's buffer is full)."""

    _autoclose = True

    def __init__(self, data: bytes, on_sent: Callable[[int], None], content_type: str) -> None:
        super().__init__(data, content_type=content_type)
        self._size = len(data)
        self._on_sent = on_sent

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        value: bytes = self._value
        return value.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        value: bytes = self._value
        data = value if content_length is None else value[:content_length]
        for start in range(0, len(data), CHUNK_BYTES):
            await writer.write(data[start : start + CHUNK_BYTES])
            self._on_sent(min(start + CHUNK_BYTES, len(data)))


def _os_reason(error: OSError) -> str:
    """The operating system's words for ``error``: "Connection refused", "Name or
    service not known", rather than asyncio's "Connect call failed ('::1', 9)"."""
    if isinstance(error, socket.gaierror) and error.strerror:
        return error.strerror
    if isinstance(error, ssl.SSLError):
        if error.reason:
            return _("TLS failed: %(reason)s") % {"reason": error.reason}
        return _("TLS failed: handshake")
    if error.errno:
        return os.strerror(error.errno)
    first = re.search(r"\[Errno (\d+)\]", str(error))  # "Multiple exceptions: [Errno 111] …"
    return os.strerror(int(first.group(1))) if first else str(error) or _("connection failed")


def _unreachable(server: str, exc: aiohttp.ClientError) -> ServerUnreachable:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", None) or _("verify failed")
        return ServerUnreachable(
            _("cannot reach the server at %(server)s: its certificate is not trusted (%(reason)s)")
            % {"server": server, "reason": reason}
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Translators: %(reason)s is the operating system's, such as "Connection refused".
        message = _("cannot reach the server at %(server)s: %(reason)s")
        return ServerUnreachable(message % {"server": server, "reason": _os_reason(exc.os_error)})
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        message = _("the server at %(server)s closed the connection without an answer")
        return ServerUnreachable(message % {"server": server})
    if isinstance(exc, aiohttp.ClientPayloadError):
        message = _("the answer of the server at %(server)s was cut short")
        return ServerUnreachable(message % {"server": server})
    if isinstance(exc, aiohttp.ClientOSError):
        message = _("lost the connection to %(server)s: %(reason)s")
        return ServerUnreachable(message % {"server": server, "reason": _os_reason(exc)})
    message = _("cannot talk to the server at %(server)s: %(reason)s")
    return ServerUnreachable(message % {"server": server, "reason": exc})


def check_transport(server: str, insecure: bool) -> None:
    """Plain http is allowed to loopback only, unless ``insecure``: the share link's
    key never travels, but the ciphertext and proofs would, in the clear."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(_("the server must be an http(s) URL, got %(url)r") % {"url": server})
    if parts.scheme == "https" or insecure:
        return
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise InsecureServer(
            _("refusing plain http to %(host)s: use https, or --insecure if you really mean it")
            % {"host": host}
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
        # ``timeout`` is how long the server may stay silent, not how long a request
        # may take: a large upload on a slow line keeps going while bytes move.
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None), headers={"User-Agent": USER_AGENT}
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        progress: Progress = _no_progress,
    ) -> Any:
        """One request with a JSON body (or none) and a JSON answer (or 204: None)."""
        data = None if body is None else json.dumps(body).encode()
        status, answer = await self._exchange(
            method, path, data, "application/json", token, progress
        )
        if status == 204:
            return None
        try:
            result = json.loads(answer)
        except ValueError:
            result = None
        if status >= 400 or not isinstance(result, dict):
            raise ApiError(status, result if isinstance(result, dict) else {})
        return result

    async def _exchange(
        self,
        method: str,
        path: str,
        data: bytes | None,
        content_type: str,
        token: str | None,
        progress: Progress,
    ) -> tuple[int, bytes]:
        """One request: its status and the bytes of its answer. Every byte that moves,
        either way, restarts the clock of ``timeout``; ``progress`` hears of the body
        going out and the answer coming in."""
        session = self._session
        assert session is not None, "use Api as an async context manager"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout) as clock:

                def moved() -> None:
                    clock.reschedule(loop.time() + self.timeout)

                def sent(done: int) -> None:
                    moved()
                    progress("uploading", done, len(data or b""))

                payload = None if data is None else _Body(data, sent, content_type)
                async with session.request(
                    method, f"{self.server}/api/v1{path}", data=payload, headers=headers
                ) as response:
                    moved()
                    if response.status == 204:
                        return 204, b""
                    return response.status, await self._read(response, moved, progress)
        except TimeoutError:
            raise NoAnswer(self.server, self.timeout) from None
        except aiohttp.ClientError as exc:
            raise _unreachable(self.server, exc) from None

    async def _binary(
        self,
        method: str,
        path: str,
        token: str,
        data: bytes | None = None,
        progress: Progress = _no_progress,
    ) -> bytes:
        """One request whose body (if any) and 200 answer are bytes; a problem is raised."""
        status, answer = await self._exchange(
            method, path, data, "application/octet-stream", token, progress
        )
        if status >= 400:
            try:
                problem = json.loads(answer)
            except ValueError:
                problem = None
            raise ApiError(status, problem if isinstance(problem, dict) else {})
        return answer

    @staticmethod
    async def _read(
        response: aiohttp.ClientResponse, moved: Callable[[], None], progress: Progress
    ) -> bytes:
        chunks = []
        done = 0
        for_all = response.content_length
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            chunks.append(chunk)
            done += len(chunk)
            moved()
            progress("downloading", done, max(for_all or 0, done))
        return b"".join(chunks)

    async def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/limits", token=self._api_token)
        return result

    async def create(
        self, body: dict[str, Any], progress: Progress = _no_progress
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", "/secrets", body, self._api_token, progress
        )
        return result

    async def peek(self, secret_id: str, claim: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", f"/secrets/{secret_id}/peek", {"claim": b64u_encode(claim)}
        )
        return result

    async def reveal(
        self,
        secret_id: str,
        claim: bytes,
        unlock: bytes | None,
        progress: Progress = _no_progress,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", f"/secrets/{secret_id}/reveal", _proofs(claim, unlock), progress=progress
        )
        return result

    async def delete(self, secret_id: str, claim: bytes, unlock: bytes | None) -> None:
        """The recipient's delete, where the sender allowed it: a reveal's proofs,
        and no view spent."""
        await self._call("POST", f"/secrets/{secret_id}/delete", _proofs(claim, unlock))

    async def receipt(self, secret_id: str, manage: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", f"/receipts/{secret_id}", token=b64u_encode(manage)
        )
        return result

    async def revoke(self, secret_id: str, manage: bytes) -> None:
        await self._call("DELETE", f"/secrets/{secret_id}", token=b64u_encode(manage))

    async def revoke_share(self, share_id: str, manage: bytes, recipient: int | None) -> None:
        """Revoke one recipient's link of a share (``recipient``), or every link still
        active (``None``): a server without several recipients has no such route."""
        body = None if recipient is None else {"recipient": recipient}
        await self._call("POST", f"/receipts/{share_id}/revoke", body, b64u_encode(manage))

    # Protocol v2: a content in segments (docs/protocol.md; the API's contents routes).

    async def create_content(
        self, body: dict[str, Any], progress: Progress = _no_progress
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", "/contents", body, self._api_token, progress
        )
        return result

    async def put_segment(
        self,
        content_id: str,
        index: int,
        sealed: bytes,
        upload_token: str,
        progress: Progress = _no_progress,
    ) -> int:
        """Store segment ``index``; answers how many segments the server holds."""
        status, answer = await self._exchange(
            "PUT", f"/contents/{content_id}/segments/{index}", sealed,
            "application/octet-stream", upload_token, progress,
        )  # fmt: skip
        result = json.loads(answer) if answer.startswith(b"{") else None
        if status >= 400 or not isinstance(result, dict):
            raise ApiError(status, result if isinstance(result, dict) else {})
        return int(result["received"])

    async def upload_state(self, content_id: str, upload_token: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", f"/contents/{content_id}/upload", token=upload_token
        )
        return result

    async def finalize(self, content_id: str, upload_token: str) -> None:
        await self._call("POST", f"/contents/{content_id}/finalize", token=upload_token)

    async def get_segment(
        self, content_id: str, index: int, download_token: str, progress: Progress = _no_progress
    ) -> bytes:
        return await self._binary(
            "GET", f"/contents/{content_id}/segments/{index}", download_token, progress=progress
        )

    async def downloaded(self, content_id: str, download_token: str) -> None:
        await self._call("POST", f"/contents/{content_id}/downloaded", token=download_token)

    # Requests: ask for a secret, answered as a v2 content sealed to the asker
    # (docs/protocol.md, "Requests"; services.client.requests).

    async def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/requests", body, self._api_token)
        return result

    async def open_request(self, request_id: str, claim: bytes) -> dict[str, Any]:
        """What a fill link's holder reads: the sealed note, and what the asker allows."""
        result: dict[str, Any] = await self._call(
            "POST", f"/requests/{request_id}/open", {"claim": b64u_encode(claim)}
        )
        return result

    async def answer_request(
        self, request_id: str, body: dict[str, Any], progress: Progress = _no_progress
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", f"/requests/{request_id}/answer", body, progress=progress
        )
        return result

    async def read_request(self, request_id: str, manage: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", f"/requests/{request_id}", token=b64u_encode(manage)
        )
        return result


def _proofs(claim: bytes, unlock: bytes | None) -> dict[str, str]:
    """The body of a reveal or a recipient's delete."""
    body = {"claim": b64u_encode(claim)}
    if unlock is not None:
        body["unlock"] = b64u_encode(unlock)
    return body


@dataclass(frozen=True)
class SentLink:
    """The share link of one recipient of a share, and its name (the sender's own)."""

    recipient: int  # its number in the share, from 0 in the order given
    name: str | None
    link: Link
    max_views: int


@dataclass(frozen=True)
class Sent:
    link: Link  # the first recipient's, when there are several
    receipt_link: Link
    expires_at: str
    max_views: int  # in all, over every link
    recipient_may_delete: bool = False
    # One per recipient when sent to several (``contents.Recipient``); else none.
    recipients: tuple[SentLink, ...] = ()


@dataclass(frozen=True)
class PreparedSecret:
    """A secret sealed on the client: the create request body, and the keys that
    only the sender keeps (they go into the links' fragments)."""

    body: dict[str, Any]
    link_key: bytes
    keys: SecretKeys
    receipt_key: bytes
    receipt_keys: ReceiptKeys


def claim_fields(claim: bytes, unlock: bytes | None, max_views: int | None) -> dict[str, Any]:
    """A create body's fields of one share link: verifiers of its proofs, and its
    views (when chosen)."""
    body: dict[str, Any] = {"claim_verifier": b64u_encode(envelope.verifier(claim))}
    if unlock is not None:
        body["unlock_verifier"] = b64u_encode(envelope.verifier(unlock))
    if max_views is not None:
        body["max_views"] = max_views
    return body


def share_fields(
    receipt_keys: envelope.ReceiptKeys,
    *,
    label: str | None,
    expires_in: int | None,
    notify: tuple[str, ...],
    recipient_may_delete: bool,
) -> dict[str, Any]:
    """A create body's fields of the whole share, whatever its links: the receipt's
    verifier, the sealed label and the sender's choices (only those made)."""
    body: dict[str, Any] = {
        "manage_verifier": b64u_encode(envelope.verifier(receipt_keys.manage)),
    }
    if label:
        body["label"] = b64u_encode(envelope.seal(receipt_keys.label, envelope.encode_label(label)))
    if expires_in is not None:
        body["expires_in"] = expires_in
    if notify:
        body["notify"] = list(notify)
    if recipient_may_delete:  # left out otherwise: a server older than 0007 takes the rest
        body["recipient_may_delete"] = True
    return body


def link_fields(
    claim: bytes,
    unlock: bytes | None,
    receipt_keys: envelope.ReceiptKeys,
    *,
    label: str | None,
    max_views: int | None,
    expires_in: int | None,
    notify: tuple[str, ...],
    recipient_may_delete: bool,
) -> dict[str, Any]:
    """A create body's fields of a share with one link, in either protocol: the
    link's (``claim_fields``) and the share's (``share_fields``)."""
    return {
        **claim_fields(claim, unlock, max_views),
        **share_fields(
            receipt_keys,
            label=label,
            expires_in=expires_in,
            notify=notify,
            recipient_may_delete=recipient_may_delete,
        ),
    }


def prepare_secret(
    payload: Payload,
    *,
    passphrase: str | None = None,
    max_views: int | None = None,
    expires_in: int | None = None,
    label: str | None = None,
    notify: tuple[str, ...] = (),
    recipient_may_delete: bool = False,
) -> PreparedSecret:
    """Encrypt ``payload`` and derive every proof; the body holds only ciphertext,
    verifiers and the sealed label."""
    sealed = envelope.seal_secret(payload, passphrase)
    receipt_key = envelope.new_link_key()
    receipt_keys = envelope.derive_receipt_keys(receipt_key)
    body = {
        "ciphertext": b64u_encode(sealed.ciphertext),
        **link_fields(
            sealed.keys.claim,
            sealed.keys.unlock,
            receipt_keys,
            label=label,
            max_views=max_views,
            expires_in=expires_in,
            notify=notify,
            recipient_may_delete=recipient_may_delete,
        ),
    }
    return PreparedSecret(body, sealed.link_key, sealed.keys, receipt_key, receipt_keys)


async def delete(api: Api, link: Link, passphrase: str | None = None) -> None:
    """Delete the secret of ``link`` as its recipient, where its sender allowed it
    (an ``ApiError`` of kind ``delete-not-allowed`` otherwise); spends no view. A
    wrong passphrase spends an attempt, as when opening."""
    keys = envelope.derive_secret_keys(link.key, passphrase)
    await api.delete(link.id, keys.claim, keys.unlock)


async def read_status(api: Api, receipt_link: Link) -> dict[str, Any]:
    """The receipt, with its label and its recipients' names decrypted in place."""
    keys = envelope.derive_receipt_keys(receipt_link.key)
    receipt = await api.receipt(receipt_link.id, keys.manage)
    if receipt.get("label"):
        sealed_label = b64u_decode(receipt["label"])
        receipt["label"] = envelope.decode_label(envelope.unseal(keys.label, sealed_label))
    for place, recipient in enumerate(receipt.get("recipients") or ()):
        number = recipient.setdefault("recipient", place)
        if recipient.get("name"):
            # Sealed under the key of its number: a name the server moved to another
            # recipient does not open, so a name found here is that recipient's.
            try:
                recipient["name"] = envelope.open_recipient_name(
                    receipt_link.key, int(number), b64u_decode(recipient["name"])
                )
            except (envelope.EnvelopeError, ValueError, TypeError):
                raise ClientError(
                    _(
                        "the name of recipient %(number)s does not open with this receipt "
                        "link: the server's receipt was altered"
                    )
                    % {"number": place + 1}
                ) from None
    return receipt


def recipient_named(receipt: dict[str, Any], name: str) -> int:
    """The number of the recipient called ``name`` in a receipt ``read_status`` gave."""
    for recipient in receipt.get("recipients") or ():
        if recipient.get("name") == name:
            return int(recipient["recipient"])
    if not any(recipient.get("name") for recipient in receipt.get("recipients") or ()):
        raise ClientError(_("this share was not sent to named recipients (send --to)"))
    raise ClientError(_("no recipient of this share has that name (see burnafter status)"))


async def revoke(api: Api, receipt_link: Link, recipient: int | None = None) -> None:
    """Revoke recipient ``recipient``'s link of a share, or every link still active.
    A server older than several recipients revokes its one link as it always did."""
    manage = envelope.derive_receipt_keys(receipt_link.key).manage
    try:
        await api.revoke_share(receipt_link.id, manage, recipient)
    except ApiError as exc:
        if recipient is not None or exc.kind not in ("no-such-route", "method-not-allowed"):
            raise
        await api.revoke(receipt_link.id, manage)
