"""Domain errors: raised by the store and the handlers, mapped to responses in one
table per service. Messages are fixed texts, never request data. Expected answers
of a reveal are not errors: ``secrets.reveal`` returns them (``Refused``)."""

from __future__ import annotations

from services.store.vocabulary import ReceiptState


class DomainError(Exception):
    """Base of every error a client may be told about."""


class SecretNotFound(DomainError):
    """Unknown id, wrong claim, spent, expired, revoked or burned: one answer for all."""


class ReceiptNotFound(DomainError):
    """Unknown id or wrong manage token."""


class RecipientNotFound(DomainError):
    """A recipient number that is not one of the share's."""


class SecretAlreadyEnded(DomainError):
    """Revoke of a secret that was already spent, expired, revoked or burned."""

    def __init__(self, state: ReceiptState) -> None:
        super().__init__(f"secret already {state}")
        self.state = state


class DeleteNotAllowed(DomainError):
    """A recipient's delete of a secret whose sender did not allow it."""


class StorageFull(DomainError):
    """Storing this would put the ciphertext of all secrets over its cap."""


class SenderQuotaFull(DomainError):
    """Storing this would put the ciphertext of this sender's secrets over its quota."""


class InvalidDeclaration(DomainError):
    """A content's declared sizes do not add up, or its segment 0 is not of its size."""


class RequestNotFound(DomainError):
    """Unknown request id, wrong fill claim or wrong manage token: one answer for all."""


class RequestAnswered(DomainError):
    """A request that was answered already: it is answered once."""


class RequestExpired(DomainError):
    """A request past its time, unanswered."""


class AnswerTooLarge(DomainError):
    """An answer over what its request (or the service) allows: ``limit`` bytes of
    content, the smaller of the two."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class GrantNotFound(DomainError):
    """Unknown, completed or expired download grant: one answer for all."""


class TokenNameTaken(DomainError):
    """An API token of that name exists already."""


class DatabaseNotMigrated(RuntimeError):
    """The schema is behind the code: run ``burnafter migrate``."""
