"""Company compliance: ANAF checks for accounts with a CUI.

Writes that set or change a CUI mark the account ``pending``; the background
:class:`ComplianceWorker` (cross-tenant, least privilege) checks pending
accounts in batches of up to 100 CUIs per ANAF call and re-tries the ones ANAF
could not answer. ``check_now`` serves the re-check endpoint. The ANAF call
never runs inside a database transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.anaf.client import AnafClient, AnafUnavailable
from crm_core.anaf.models import CompanyRecord
from crm_core.repositories import accounts
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.schemas.accounts import AccountPublic
from crm_core.schemas.enums import ComplianceStatus
from infra.db.tenancy import tenant_transaction
from infra.errors import InvalidInput, NotFound
from infra.loops import BackgroundLoop
from infra.security import Principal

logger = logging.getLogger(__name__)

DUE = [ComplianceStatus.PENDING.value, ComplianceStatus.UNCHECKED.value]
SETTLED = [ComplianceStatus.VERIFIED.value, ComplianceStatus.NOT_FOUND.value, ComplianceStatus.INACTIVE.value]


def anaf_data(record: CompanyRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude_none=True)


async def check_now(pool: asyncpg.Pool, client: AnafClient, *, user: Principal, account_id: UUID) -> AccountPublic:
    """Check one account against ANAF now; ANAF being unavailable leaves it ``pending``."""
    async with tenant_transaction(pool, user.tenant, readonly=True) as conn:
        account = await ACCOUNTS.get(conn, tenant=user.tenant, id=account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}")
    if account.cui is None:
        raise InvalidInput("the account has no CUI to check: set one first", fields=["cui"])
    try:
        record: CompanyRecord | None = (await client.lookup([account.cui]))[account.cui]
    except AnafUnavailable as exc:
        logger.warning("ANAF unavailable for account %s: %s", account_id, exc)
        record = None
    async with tenant_transaction(pool, user.tenant) as conn:
        await accounts.apply_check(
            conn,
            tid=account.tid,
            mid=account.mid,
            id=account.id,
            cui=account.cui,
            status=record.compliance if record else ComplianceStatus.PENDING,
            anaf_data=anaf_data(record) if record else None,
            address=record.address if record else None,
        )
        refreshed = await ACCOUNTS.get(conn, tenant=user.tenant, id=account_id)
    assert refreshed is not None
    return refreshed


@dataclass
class WorkerStats:
    checked: int = 0
    unavailable: int = 0


class ComplianceWorker(BackgroundLoop):
    """Checks due accounts of every tenant; runs as a member of ``vettify_worker``."""

    task_name = "compliance-worker"

    def __init__(
        self, pool: asyncpg.Pool, client: AnafClient, *, batch_size: int = 100, interval_s: float = 5.0
    ) -> None:
        self.pool = pool
        self.client = client
        self.batch_size = min(batch_size, 100)
        self.interval_s = interval_s
        self.stats = WorkerStats()

    async def run_once(self, *, statuses: list[str] = DUE, min_age_s: float = 0.0) -> int:
        """One batch: returns how many accounts got a definitive result."""
        async with self.pool.acquire() as conn:
            due = await accounts.due_for_check(conn, statuses=statuses, min_age_s=min_age_s, limit=self.batch_size)
        if not due:
            return 0
        try:
            records = await self.client.lookup([row["cui"] for row in due])
        except AnafUnavailable as exc:
            logger.warning("compliance worker: ANAF unavailable (%s); %d accounts stay pending", exc, len(due))
            await self._mark(due, None)
            self.stats.unavailable += len(due)
            return 0
        await self._mark(due, records)
        self.stats.checked += len(due)
        return len(due)

    async def _mark(self, due: list[asyncpg.Record], records: dict[str, CompanyRecord] | None) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            for row in due:
                record = records.get(row["cui"]) if records is not None else None
                await accounts.apply_check(
                    conn,
                    tid=row["tid"],
                    mid=row["mid"],
                    id=row["id"],
                    cui=row["cui"],
                    status=record.compliance if record else ComplianceStatus.PENDING,
                    anaf_data=anaf_data(record) if record else None,
                    address=record.address if record else None,
                )

    async def recheck(
        self, *, include_settled_older_than_s: float | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Batch job: everything due, plus settled results older than the given age."""
        total = 0
        while (done := await self.run_once()) > 0:
            total += done
            if progress:
                progress(total)
        if include_settled_older_than_s is not None:
            while (done := await self.run_once(statuses=SETTLED, min_age_s=include_settled_older_than_s)) > 0:
                total += done
                if progress:
                    progress(total)
        return total

    async def _loop(self) -> None:
        while True:
            try:
                done = await self.run_once(min_age_s=self.interval_s)
            except (OSError, asyncpg.PostgresError) as exc:
                logger.warning("compliance worker: %s", exc)
                done = 0
            if done < self.batch_size:
                await asyncio.sleep(self.interval_s)
