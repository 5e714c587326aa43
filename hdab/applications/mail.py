"""Sending notification mail over SMTP (``HDAB_SMTP_URL``): the one place that talks to a mail server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 10


class MailConfigurationError(ValueError):
    pass


def send(smtp_url: str, sender: str, recipient: str, subject: str, body: str) -> None:
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
        raise MailConfigurationError(
            "HDAB_SMTP_URL must look like smtp://host:port, smtps:// or smtp+starttls://"
        )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    client_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with client_class(parts.hostname, port, timeout=TIMEOUT_SECONDS) as client:
        if parts.scheme == "smtp+starttls":
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
