"""The api's refusals of a request: each becomes one problem answer
(``services/api/problems.py``). The store's domain errors live in
``services/store/errors.py``."""

from __future__ import annotations


class InvalidRequest(Exception):
    """A request that breaks the contract; ``field`` names the culprit, if one."""

    def __init__(self, detail: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.status = status


class AuthenticationRequired(Exception):
    """No acceptable sender for this policy, or a token that does not work."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ContentTooLarge(Exception):
    """A content declared over the most a secret may hold."""

    def __init__(self, max_content_bytes: int) -> None:
        super().__init__(f"over {max_content_bytes} bytes")
        self.max_content_bytes = max_content_bytes


class UploadRefused(Exception):
    """A segment upload or a finalize the store refused (``UploadOutcome``)."""

    def __init__(self, outcome: str, received: int | None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.received = received
