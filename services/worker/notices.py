"""Telling an asker that a request was answered (docs/webhooks.md,
"request.answered"; docs/operations.md, "Email notices").

An answer is told once it can be collected (its content live). Each round, the
notices pass marks such answers noticed and queues their ``request.answered``
webhooks in the same statement (the dispatcher sends them as any delivery), then,
when an SMTP relay is configured, emails the askers who left an address. The email
says only that the request was answered, when, and its audit reference: never a
key, a link, the note or the answer, which the server cannot read anyway. It is
written in the language the asker's page was in when they asked (stored with the
address), in English when there is none, the tag is not ours, or its catalog is
missing; its ``Content-Language`` says which. An email row is taken with
``FOR UPDATE SKIP LOCKED``, so two reapers never send one twice; a failure is
retried with the webhooks' backoff, and the address is erased once sent or given
up, and its language with it. Addresses are never logged."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage

import asyncpg
import structlog
from babel.dates import format_datetime
from babel.support import NullTranslations

from services.i18n import LANGUAGES, SOURCE, Language, translations
from services.server.audit import Auditor
from services.server.metrics import NoticeMetrics
from services.server.settings import Settings
from services.store import secret_requests
from services.worker.rounds import backoff, run_rounds

log = structlog.get_logger("burnafter.notices")

BATCH = 20


def email_language(tag: str | None) -> tuple[Language, NullTranslations]:
    """The language an email is written in, and its messages: the asker's (``tag``),
    else English: for no tag (a previous release's api stored none), a tag that is
    not ours (a later release's), or a language whose catalog is missing."""
    language = LANGUAGES.get(tag or "", SOURCE)
    try:
        return language, translations(language)
    except FileNotFoundError:
        log.warning("email_language_missing", language=language.tag)
        return SOURCE, translations(SOURCE)


def email_notice(settings: Settings, notice: secret_requests.EmailNotice, ref: str) -> EmailMessage:
    """The email: that the request was answered, and where to read it (the collect
    link the asker kept), with nothing that opens anything; in the asker's language."""
    language, catalog = email_language(notice.language)
    _ = catalog.gettext

    def when(at: datetime) -> str:
        return format_datetime(at, format="long", tzinfo=UTC, locale=language.locale)

    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = notice.address
    # Translators: the subject of the email an asker gets when someone answered
    # their request for a secret.
    message["Subject"] = _("Your request for a secret was answered")
    paragraphs = [
        # Translators: %(asked)s and %(answered)s are a date and time, in UTC.
        _("The request for a secret you made on %(asked)s was answered on %(answered)s.")
        % {"asked": when(notice.created_at), "answered": when(notice.answered_at)},
        _(
            "Open the collect link you kept when you asked to read the answer. This email "
            "carries no link to it: only your collect link can open the answer."
        ),
        # Translators: %(reference)s names the request in the service's audit log
        # (letters and digits), for its operator.
        _("Reference: %(reference)s") % {"reference": ref},
    ]
    body = "\n\n".join(paragraphs) + "\n"
    message.set_content(body, cte="7bit" if body.isascii() else "8bit")
    # After set_content, which clears every Content-* header.
    message["Content-Language"] = language.tag
    return message


def _quoted_printable(message: EmailMessage) -> None:
    """The same text, quoted-printable, for a relay that takes no 8-bit body."""
    language = message["Content-Language"]
    message.set_content(message.get_content(), cte="quoted-printable")
    message["Content-Language"] = language


def send_email(settings: Settings, message: EmailMessage, to: str) -> None:
    """Hand ``message`` to the relay for ``to`` alone, whatever its headers say
    (blocking; run it in a thread)."""
    timeout = settings.webhook_timeout
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                context=context)  # fmt: skip
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        options: tuple[str, ...] = ()
        if message["Content-Transfer-Encoding"] == "8bit":
            smtp.ehlo_or_helo_if_needed()
            if smtp.has_extn("8bitmime"):
                options = ("BODY=8BITMIME",)  # RFC 6152
            else:
                _quoted_printable(message)
        smtp.send_message(message, to_addrs=[to], mail_options=options)


class Notices:
    def __init__(self, pool: asyncpg.Pool, settings: Settings, metrics: NoticeMetrics) -> None:
        self.pool = pool
        self.settings = settings
        self.metrics = metrics
        self.auditor = Auditor(settings.audit_key, "reaper")

    async def _email(self, notice: secret_requests.EmailNotice) -> bool:
        message = email_notice(self.settings, notice, self.auditor.ref(notice.id))
        try:
            await asyncio.to_thread(send_email, self.settings, message, notice.address)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("email_notice_failed", error=type(exc).__name__,
                        request_ref=self.auditor.ref(notice.id))  # fmt: skip
            return False
        return True

    async def _email_round(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            due = await secret_requests.take_due_emails(conn, BATCH)
            sent = await asyncio.gather(*(self._email(notice) for notice in due))
            for notice, ok in zip(due, sent, strict=True):
                if ok:
                    await secret_requests.mark_emailed(conn, notice)
                    outcome = "sent"
                else:
                    gave_up = await secret_requests.mark_email_failed(
                        conn, notice, backoff(self.settings, notice.attempts),
                        self.settings.webhook_max_attempts,
                    )  # fmt: skip
                    outcome = "gave_up" if gave_up else "retry"
                self.metrics.emails.labels(outcome=outcome).inc()
                log.info("email_notice", outcome=outcome, request_ref=self.auditor.ref(notice.id))
        return len(due)

    async def run_once(self) -> int:
        """Notice the answers that became collectable, then send the emails due;
        return how many rows the round took."""
        noticed = await secret_requests.notice_answers(self.pool, BATCH)
        self.metrics.answers.inc(noticed)
        emailed = await self._email_round() if self.settings.smtp_host else 0
        return max(noticed, emailed)

    async def run_until(self, stop: asyncio.Event) -> None:
        await run_rounds(stop, self.run_once, BATCH, self.settings.webhook_interval, "notices")
