"""Who is creating a secret, and whether ``CREATE_POLICY`` lets them.

A sender is a token (``Authorization: Bearer bat_...``), else a signed-in user
(from the identity-aware proxy), else anonymous. Opening a link never asks."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.api.errors import AuthenticationRequired
from services.server.appkeys import POOL, SETTINGS
from services.server.identity import bearer_token, signed_in
from services.server.settings import SenderKind, Settings, is_address
from services.store import tokens


@dataclass(frozen=True)
class Sender:
    kind: SenderKind
    actor: str | None  # as the audit log and the receipt name them

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"


ANONYMOUS = Sender("anonymous", None)

ALLOWED_SENDERS: dict[str, set[SenderKind]] = {
    "open": {"anonymous", "sso", "token"},
    "sso": {"sso"},
    "sso-or-token": {"sso", "token"},
}


async def identify(request: web.Request) -> Sender:
    """The sender, without judging the policy. A token that is presented must work."""
    presented = bearer_token(request)
    if presented is not None:
        name = await tokens.authenticate(request.config_dict[POOL], presented)
        if name is None:
            raise AuthenticationRequired("The API token is unknown, revoked or expired.")
        return Sender("token", f"token:{name}")
    identity = signed_in(request)
    return ANONYMOUS if identity is None else Sender("sso", identity.user)


def own_address(settings: Settings, sender: Sender) -> str | None:
    """Where email notices for ``sender`` go: their own address, as the identity-aware
    proxy names them, where the operator configured an SMTP relay. None for anyone
    else (anonymous, an API token, a name that is not an address): an address typed
    in would let the service be made to email anyone."""
    if not settings.smtp_host or sender.kind != "sso" or sender.actor is None:
        return None
    return sender.actor if is_address(sender.actor) else None


async def permitted_sender(request: web.Request, *, asking: bool = False) -> Sender:
    """The sender, if ``CREATE_POLICY`` lets them create (``REQUEST_POLICY`` ask, when
    ``asking``); else AuthenticationRequired."""
    sender = await identify(request)
    settings = request.config_dict[SETTINGS]
    policy = settings.request_policy if asking else settings.create_policy
    what = "ask for a secret" if asking else "share a secret"
    if sender.kind not in ALLOWED_SENDERS[policy]:
        raise AuthenticationRequired(
            f"Sign in to {what}."
            if policy == "sso"
            else f"Sign in, or send an API token (Authorization: Bearer), to {what}."
        )
    return sender
