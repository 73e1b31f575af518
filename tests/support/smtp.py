"""A real SMTP relay on loopback (aiosmtpd) for the tests of email notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tools.net import free_port


@dataclass
class Relay:
    """An SMTP relay on loopback (aiosmtpd) that keeps what it is handed; with
    ``eight_bit`` False, one that does not offer 8BITMIME (RFC 6152)."""

    port: int = field(default_factory=free_port)
    eight_bit: bool = True
    got: list[Envelope] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(  # noqa: N802 - aiosmtpd's name
        self, _server: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        self.got.append(envelope)
        return "250 OK"

    def start(self) -> None:
        # aiosmtpd offers 8BITMIME unless it decodes the data as text
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, decode_data=not self.eight_bit
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        """What it got, parsed: headers decoded, ``get_content()`` the text."""
        return [
            message_from_bytes(bytes(envelope.original_content or b""), policy=policy.default)
            for envelope in self.got
        ]

    def settings(self) -> dict[str, str]:
        """The SMTP_* settings of a service that sends through this relay."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": "none",
            "SMTP_FROM": "burnafter@example.test",
        }
