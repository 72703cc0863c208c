"""The kill drill: kill -9 the delivery worker in the middle of a 10k-recipient campaign, restart it.

Every consenting, unsuppressed recipient ends with exactly one message in the SMTP sink, except at most the
messages in flight at the kill (bounded by the worker's concurrency, counted and reported); none is lost,
and nobody suppressed or without consent is mailed — including addresses suppressed after the send was queued.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from crm_core.delivery import queue
from crm_core.delivery.sink import message_ids, start_sink
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.local_servers import RunningServer
from tests.support.databases import ProvisionedDatabase

pytestmark = pytest.mark.slow

RECIPIENTS = 10_000
CONCURRENCY = 16


def _count(maildir: Path) -> int:
    return sum(1 for folder in ("new", "cur") for _ in (maildir / folder).iterdir())


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "crm_core.delivery", "--report-every", "2"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_kill_9_mid_campaign_loses_nothing_and_duplicates_at_most_one_wave(
    tmp_path: Path,
    migrated_database: ProvisionedDatabase,
    app_pool: asyncpg.Pool,
    admin_pool: asyncpg.Pool,
    redis_server: RunningServer,
) -> None:
    tenant = TenantContext(tid=f"t-drill-{uuid.uuid4().hex[:8]}", mid="m-1")
    async with admin_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO crm.contacts (tid, mid, first_name, email, consent_marketing) "
            "SELECT $1, $2, 'R' || i, 'r' || i || '@drill.test', i <= $3 FROM generate_series(1, $3 + 150) AS i",
            tenant.tid,
            tenant.mid,
            RECIPIENTS,
        )
        campaign_id = await conn.fetchval(
            "INSERT INTO crm.campaigns (tid, mid, name, subject, body, status) "
            "VALUES ($1, $2, 'Drill', 'Salut {{ contact.first_name }}', 'Text pentru {{ contact.email }}', 'sending') "
            "RETURNING id",
            tenant.tid,
            tenant.mid,
        )
    async with tenant_transaction(app_pool, tenant) as conn:
        enqueued = await queue.enqueue(
            conn,
            tenant=tenant,
            campaign_id=campaign_id,
            contact_ids=None,
            account_id=None,
            limit=100_000,
            variants=[],
        )
    assert (enqueued.recipients, enqueued.queued) == (RECIPIENTS, RECIPIENTS)
    # Suppressed after the send was queued: enforced at send time.
    suppressed = {f"r{i}@drill.test" for i in range(1, RECIPIENTS + 1, 97)}
    async with tenant_transaction(app_pool, tenant) as conn:
        await queue.suppress(conn, tenant=tenant, emails=sorted(suppressed), reason="unsubscribe", source="test")

    sink = start_sink(tmp_path / "smtp")
    maildir = tmp_path / "smtp" / "maildir"
    env = {
        "VETTIFY_DATABASE_URL": migrated_database.urls.app,
        "VETTIFY_WORKER_DATABASE_URL": migrated_database.urls.worker or "",
        "VETTIFY_SMTP_URL": sink.url,
        "VETTIFY_REDIS_URL": redis_server.url,
        "VETTIFY_DATA_DIR": str(tmp_path / "data"),
        "VETTIFY_MAIL_CONCURRENCY": str(CONCURRENCY),
        "VETTIFY_MAIL_RATE_PER_S": "100000",
        "VETTIFY_MAIL_LEASE_S": "3",
    }
    log = tmp_path / "worker.log"
    try:
        worker = _start_worker(env, log)
        deadline = time.monotonic() + 180
        while _count(maildir) < RECIPIENTS // 3:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"too slow: {_count(maildir)} messages\n{log.read_text()}"
            await asyncio.sleep(0.25)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = _count(maildir)
        async with tenant_transaction(app_pool, tenant) as conn:
            in_flight = await conn.fetchval(
                "SELECT count(*) FROM crm.email_deliveries WHERE tid = $1 AND campaign_id = $2 AND state = 'sending'",
                tenant.tid,
                campaign_id,
            )
        assert 0 < at_kill < RECIPIENTS
        assert in_flight <= CONCURRENCY

        worker = _start_worker(env, log)
        deadline = time.monotonic() + 300
        while True:
            async with tenant_transaction(app_pool, tenant) as conn:
                pending = await conn.fetchval(
                    "SELECT count(*) FROM crm.email_deliveries WHERE tid = $1 AND campaign_id = $2 "
                    "AND state IN ('queued', 'sending', 'deferred')",
                    tenant.tid,
                    campaign_id,
                )
            if pending == 0:
                break
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{pending} still pending\n{log.read_text()}"
            await asyncio.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    finally:
        sink.stop()

    async with tenant_transaction(app_pool, tenant) as conn:
        states = dict(
            await conn.fetch(
                "SELECT state, count(*) FROM crm.email_deliveries WHERE tid = $1 AND campaign_id = $2 GROUP BY state",
                tenant.tid,
                campaign_id,
            )
        )
        status = await conn.fetchval(
            "SELECT status FROM crm.campaigns WHERE tid = $1 AND id = $2", tenant.tid, campaign_id
        )
    async with tenant_transaction(app_pool, tenant) as conn:
        ours = {
            f"<{r['id']}@vettify.localhost>"
            for r in await conn.fetch(
                "SELECT id FROM crm.email_deliveries WHERE tid = $1 AND campaign_id = $2", tenant.tid, campaign_id
            )
        }
    # The worker serves every tenant with due mail: other tests' leftovers may land in this sink too.
    copies = Counter({i: n for i, n in message_ids(maildir).items() if i in ours})
    duplicates = sum(n - 1 for n in copies.values())
    print(f"\nkill drill: {at_kill} in the sink at the kill, {in_flight} in flight, {duplicates} duplicate(s)")
    assert states == {"sent": RECIPIENTS - len(suppressed), "suppressed": len(suppressed)}
    assert status == "sent"
    assert len(copies) == RECIPIENTS - len(suppressed)  # every one delivered, none lost
    assert duplicates <= in_flight <= CONCURRENCY  # only what was in flight at the kill can arrive twice
    recipients = {m.split("@")[0].strip("<") for m in copies}
    async with tenant_transaction(app_pool, tenant) as conn:
        mailed = {
            r["email"]
            for r in await conn.fetch(
                "SELECT email FROM crm.email_deliveries WHERE tid = $1 AND campaign_id = $2 AND id = ANY($3::uuid[])",
                tenant.tid,
                campaign_id,
                [uuid.UUID(r) for r in recipients],
            )
        }
    assert not mailed & suppressed
    assert all(int(e.split("@")[0][1:]) <= RECIPIENTS for e in mailed)  # nobody without consent
