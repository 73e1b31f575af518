"""Domain errors: raised by the store and the handlers, mapped to responses in one
middleware per service. Messages are fixed texts, never request data."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client may be told about."""


class SecretNotFound(DomainError):
    """Unknown id, wrong claim, viewed, expired, revoked or locked: one answer for all."""


class ReceiptNotFound(DomainError):
    """Unknown id or wrong manage token."""


class PassphraseRequired(DomainError):
    def __init__(self, attempts_left: int) -> None:
        super().__init__("passphrase required")
        self.attempts_left = attempts_left


class WrongPassphrase(DomainError):
    """A wrong unlock proof; ``attempts_left == 0`` means the secret is now destroyed."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__("wrong passphrase")
        self.attempts_left = attempts_left


class SecretAlreadyEnded(DomainError):
    """Revoke of a secret that was already viewed, expired, revoked or locked."""

    def __init__(self, state: str) -> None:
        super().__init__(f"secret already {state}")
        self.state = state


class DatabaseNotMigrated(RuntimeError):
    """The schema is behind the code: run ``burnafter migrate``."""
