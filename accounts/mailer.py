"""Outgoing account mail (password reset links). Delivery is behind a small protocol.

Development writes each message to a 0600 file under ``var/outbox/``; tests use the
in-memory outbox. A production SMTP/API mailer plugs in through the same protocol.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, message: Message) -> None: ...


@dataclass
class MemoryMailer:
    sent: list[Message] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


@dataclass
class OutboxDirectoryMailer:
    directory: Path

    async def send(self, message: Message) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f"{secrets.token_hex(8)}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(f"To: {message.to}\nSubject: {message.subject}\n\n{message.body}\n")
