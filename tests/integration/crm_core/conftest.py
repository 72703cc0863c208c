"""Real SMTP servers for the campaign-delivery tests (aiosmtpd in its own process, storing a Maildir)."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import pytest

from crm_core.delivery.sink import start_sink
from infra.local_servers import RunningServer, ServiceStartError

# Scripted answers to RCPT TO: a hard bounce, a mailbox busy once, a server shutting down every time.
SCRIPTED = ("gone@bounce.test=550", "busy@later.test=450:1", "down@later.test=421")


@dataclass
class Sink:
    server: RunningServer
    maildir: Path

    @property
    def url(self) -> str:
        return self.server.url

    def messages(self) -> list[Message]:
        box = mailbox.Maildir(str(self.maildir), create=False)
        found = []
        for key in box.keys():  # noqa: SIM118 - Maildir keys() lists files on disk
            with box.get_file(key) as handle:
                found.append(message_from_bytes(handle.read(), policy=default_policy))
        return found

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages() if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sink]:
    workdir = tmp_path_factory.mktemp("smtp")
    try:
        server = start_sink(workdir, maildir=workdir / "maildir", replies=SCRIPTED)
    except ServiceStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield Sink(server, workdir / "maildir")
    server.stop()
