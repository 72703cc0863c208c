"""Real SMTP servers for the campaign-delivery tests (aiosmtpd in its own process, storing a Maildir), and a
delivery worker on a clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from crm_core.delivery.message import Sender
from crm_core.delivery.ratelimit import TenantRateLimit
from crm_core.delivery.sink import start_sink
from crm_core.delivery.smtp import SmtpPool, SmtpTarget
from crm_core.delivery.worker import DeliveryConfig, DeliveryWorker
from infra.local_servers import RunningServer, ServiceStartError
from infra.settings import Settings
from serve.cli.mail import stored_messages

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
        return [stored.message for stored in stored_messages(self.maildir)]

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


class Clock:
    """The worker's clock, movable by the test (deferred retries fall due when it moves on)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
async def worker(
    app_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
    redis_server: RunningServer,
    smtp_sink: Sink,
    test_settings: Settings,
) -> AsyncIterator[DeliveryWorker]:
    redis = aioredis.Redis.from_url(redis_server.url)
    config = DeliveryConfig(
        default_sender=Sender.parse(test_settings.mail_from),
        public_url="http://crm.test",
        secret=test_settings.resolved_tracking_secret,
        tracking_ttl_s=3600,
        batch_size=100,
        concurrency=4,
        max_attempts=3,
        retry_base_s=30,
        lease_s=60,
    )
    clock = Clock(timedelta(0))
    smtp = SmtpPool(SmtpTarget.parse(smtp_sink.url), size=4)
    yield DeliveryWorker(app_pool, worker_pool, smtp, TenantRateLimit(redis, 1000), config, clock=clock)
    await smtp.close()
    await redis.aclose()
