"""Outgoing email: templates with a plain-text and an HTML part, sent over SMTP."""

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shop.core.config import Settings

SMTP_TIMEOUT_SECONDS = 20
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


class EmailTemplates:
    """`<name>.subject.txt`, `<name>.txt` and `<name>.html` in a package's `templates/` folder."""

    def __init__(self, package: str) -> None:
        self.env = Environment(
            loader=PackageLoader(package, "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, name: str, **context: object) -> tuple[str, str, str]:
        subject = self.env.get_template(f"{name}.subject.txt").render(context)
        text = self.env.get_template(f"{name}.txt").render(context)
        html = self.env.get_template(f"{name}.html").render(context)
        # A header must be one line, whatever the template's whitespace.
        return " ".join(subject.split()), text, html


def message_id(settings: Settings, *parts: object) -> str:
    """A Message-ID derived from what caused the email, so a mail server can drop a duplicate."""
    domain = (settings.email_from or "shop@localhost").rpartition("@")[2] or "localhost"
    return "<" + ".".join(str(part) for part in parts) + f"@{domain}>"


def build_message(settings: Settings, email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from or "shop@localhost"
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def send_email_sync(settings: Settings, email: Email) -> None:
    if not settings.smtp_host:
        raise RuntimeError("SHOP_SMTP_HOST is not set: no email can be sent")
    message = build_message(settings, email)
    smtp_class = smtplib.SMTP_SSL if settings.smtp_port == IMPLICIT_TLS_PORT else smtplib.SMTP
    with smtp_class(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_tls and smtp_class is smtplib.SMTP:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


async def send_email(settings: Settings, email: Email) -> None:
    await asyncio.to_thread(send_email_sync, settings, email)
