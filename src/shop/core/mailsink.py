"""A local SMTP server that keeps what it receives: `shop dev`'s mailbox and the tests' mail server."""

import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    """Collects messages (thread-safe); optionally writes each to a folder as an .eml file."""

    def __init__(self, folder: Path | None = None, on_message: Callable[[EmailMessage], None] | None = None) -> None:
        self.folder = folder
        self.on_message = on_message
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.rcpt_hook: Callable[[str], None] | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_hook is not None:
            await server.loop.run_in_executor(None, self.rcpt_hook, address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        message: Any = message_from_bytes(raw, policy=policy.default)
        with self._lock:
            self._messages.append(message)
            count = len(self._messages)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{count:05d}.eml").write_bytes(raw)
        if self.on_message is not None:
            self.on_message(message)
        return "250 Message accepted for delivery"


def start_mail_sink(mailbox: Mailbox, port: int = 0) -> Controller:
    """Listen on 127.0.0.1 (a free port when 0); `controller.port` tells which."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=port or _free_port())
    controller.start()
    return controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
