"""Email over SMTP (stdlib `smtplib`, in a thread): plain text with an HTML alternative."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from html import escape

from postwizard.config import Settings

SMTP_TIMEOUT_S = 20


def email_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.smtp_from)


def compose(sender: str, to: str, subject: str, text: str, link: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    plain = text + (f"\n\n{link}" if link else "") + "\n\n-- PostWizard"
    message.set_content(plain)
    link_html = f'<p><a href="{escape(link)}">Open in PostWizard</a></p>' if link else ""
    message.add_alternative(
        f"<html><body><p>{escape(text)}</p>{link_html}<p>-- PostWizard</p></body></html>",
        subtype="html",
    )
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    host, port = settings.smtp_host, settings.smtp_port
    smtp: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        smtp = smtplib.SMTP_SSL(
            host, port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S)
    with smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send_email(settings: Settings, message: EmailMessage) -> None:
    """Raises `smtplib.SMTPException` or `OSError` when the server refuses or cannot be reached."""
    await asyncio.to_thread(_send, settings, message)
