"""The sequence runner: moves every due enrolment through its steps, exactly once in effect.

Each pass asks (as ``vettify_worker``) which tenants have due enrolments, then per tenant, in one transaction of
that tenant: locks up to ``batch_size`` due rows with ``FOR UPDATE SKIP LOCKED`` (so several runners share the
work and never take the same row), runs each one's steps until it has to wait or ends, and writes the new step,
due time and history in the same transaction as the steps' effects (a queued e-mail, a lead score, an
activity). A crash rolls both back together; a restarted runner resumes from the stored step.

Before every step, the sequence's exit rules are checked: ``unsubscribed`` (no marketing consent, or the
address is suppressed), ``converted`` (an order on the contact's account, or their lead converted, since
enrolment) and ``replied`` (a reply to one of the journey's e-mails, reported by the provider webhook).
The clock is injectable, so tests move time instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.delivery import queue
from crm_core.repositories import activities
from crm_core.schemas.activities import ActivityCreate
from crm_core.schemas.sequences import (
    STEPS,
    Branch,
    CreateActivity,
    Exit,
    SendEmail,
    Step,
    Target,
    UpdateLead,
    Wait,
)
from crm_core.sequences import conditions
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.loops import PollingLoop

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_STEPS_PER_PASS = 50  # a branch loop cannot spin a runner: the rest waits for the next pass
PAUSED_RECHECK = timedelta(minutes=5)

DUE_TENANTS_SQL = """
SELECT DISTINCT tid, whid, mid FROM crm.sequence_enrollments WHERE state = 'active' AND due_at <= $1 LIMIT 1000
"""

CLAIM_SQL = """
SELECT e.id, e.sequence_id, e.contact_id, e.step, e.waiting_since, e.created_at, e.history,
       s.name, s.steps, s.exit_on, s.status AS sequence_status, s.deleted_at AS sequence_deleted
FROM crm.sequence_enrollments e
JOIN crm.sequences s ON s.tid = e.tid AND s.mid = e.mid AND s.id = e.sequence_id
WHERE e.tid = $1 AND e.mid = $2 AND e.state = 'active' AND e.due_at <= $3
ORDER BY e.due_at, e.id
LIMIT $4
FOR UPDATE OF e SKIP LOCKED
"""

SAVE_SQL = """
UPDATE crm.sequence_enrollments
SET step = $4, due_at = $5, waiting_since = $6, state = $7, exit_reason = $8, history = history || $9::jsonb,
    updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3
"""

CAMPAIGN_VARIANTS_SQL = "SELECT variants FROM crm.campaigns WHERE tid = $1 AND mid = $2 AND id = $3"

UPDATE_LEAD_SQL = """
UPDATE crm.leads
SET score = CASE WHEN $4::int IS NULL THEN score ELSE LEAST(100, GREATEST(0, COALESCE(score, 0) + $4::int)) END,
    status = COALESCE($5, status),
    score_reason = CASE WHEN $4::int IS NULL THEN score_reason ELSE $6 END,
    updated_at = now(), version = version + 1
WHERE tid = $1 AND mid = $2 AND id = $3 AND status <> 'converted'
RETURNING score, status
"""

ACCOUNT_SQL = "SELECT account_id FROM crm.contacts WHERE tid = $1 AND mid = $2 AND id = $3"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunnerStats:
    steps: int = 0
    completed: int = 0
    exited: int = 0
    by_step: dict[str, int] = field(default_factory=dict)


@dataclass
class Journey:
    """One enrolment while its steps run: where it is, and what it did this pass (appended to its history)."""

    row: asyncpg.Record
    steps: list[Step]
    step: int
    waiting_since: datetime | None
    notes: list[dict[str, Any]] = field(default_factory=list)
    state: str = "active"
    exit_reason: str | None = None
    due_at: datetime | None = None

    @property
    def contact_id(self) -> UUID:
        contact: UUID = self.row["contact_id"]
        return contact

    def note(self, now: datetime, kind: str, outcome: str) -> None:
        self.notes.append({"step": self.step, "type": kind, "outcome": outcome, "at": now.isoformat()})


class SequenceRunner(PollingLoop):
    task_name = "sequence-runner"

    def __init__(
        self,
        pool: asyncpg.Pool,
        scan_pool: asyncpg.Pool,
        *,
        clock: Clock = utcnow,
        batch_size: int = 100,
        recheck: timedelta = timedelta(minutes=1),
        idle_sleep_s: float = 1.0,
    ) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.clock = clock
        self.batch_size = batch_size
        self.recheck = recheck  # how often a wait `until` an event looks again
        self.idle_sleep_s = idle_sleep_s
        self.stats = RunnerStats()

    async def run_once(self) -> int:
        """Advance every due enrolment of every tenant once; returns how many were advanced."""
        now = self.clock()
        async with self.scan_pool.acquire() as conn:
            rows = await conn.fetch(DUE_TENANTS_SQL, now)
        advanced = 0
        for r in rows:
            advanced += await self.advance_tenant(TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"]))
        return advanced

    async def advance_tenant(self, tenant: TenantContext) -> int:
        now = self.clock()
        async with tenant_transaction(self.pool, tenant) as conn:
            rows = await conn.fetch(CLAIM_SQL, tenant.tid, tenant.mid, now, self.batch_size)
            for row in rows:
                journey = Journey(row, [], row["step"], row["waiting_since"])
                if row["sequence_status"] != "active" or row["sequence_deleted"] is not None:
                    journey.due_at = now + PAUSED_RECHECK
                else:
                    try:
                        async with conn.transaction():  # a savepoint: a failing step undoes only its own journey
                            journey.steps = STEPS.validate_python(row["steps"])
                            await self._advance(conn, tenant, journey, now)
                    except (asyncpg.PostgresError, ValueError) as exc:
                        journey = self._failed(row, exc, now)
                await self._save(conn, tenant, journey, now)
        return len(rows)

    def _failed(self, row: asyncpg.Record, exc: Exception, now: datetime) -> Journey:
        """A journey whose step cannot run (bad stored steps, a database refusal) ends, saying why, instead of
        failing every pass of the runner."""
        logger.warning("sequence %s, journey %s: step %s failed: %s", row["sequence_id"], row["id"], row["step"], exc)
        journey = Journey(row, [], row["step"], row["waiting_since"])
        journey.state, journey.exit_reason = "exited", f"step {row['step']} failed: {exc}"[:500]
        journey.note(now, "error", journey.exit_reason)
        return journey

    async def _save(self, conn: asyncpg.Connection, tenant: TenantContext, j: Journey, now: datetime) -> None:
        if j.state == "completed":
            self.stats.completed += 1
        elif j.state == "exited":
            self.stats.exited += 1
        await conn.execute(
            SAVE_SQL,
            tenant.tid,
            tenant.mid,
            j.row["id"],
            j.step,
            j.due_at or now,
            j.waiting_since,
            j.state,
            j.exit_reason,
            j.notes,
        )

    async def _advance(self, conn: asyncpg.Connection, tenant: TenantContext, j: Journey, now: datetime) -> None:
        campaigns = conditions.campaigns_of(j.steps)
        since: datetime = j.row["created_at"]
        for _ in range(MAX_STEPS_PER_PASS):
            reason = await self._exit_reason(conn, tenant, j, campaigns, since)
            if reason is not None:
                j.state, j.exit_reason = "exited", reason
                j.note(now, "exit", reason)
                return
            if j.step >= len(j.steps):
                j.state = "completed"
                j.note(now, "end", "completed")
                return
            step = j.steps[j.step]
            self.stats.steps += 1
            self.stats.by_step[step.type] = self.stats.by_step.get(step.type, 0) + 1
            if not await self._run_step(conn, tenant, j, step, campaigns, now):
                return  # waiting: due again at j.due_at
        j.due_at = now  # a long walk through branches: continue next pass

    async def _exit_reason(
        self, conn: asyncpg.Connection, tenant: TenantContext, j: Journey, campaigns: list[UUID], since: datetime
    ) -> str | None:
        exits = set(j.row["exit_on"])
        if "unsubscribed" in exits and not await conditions.mailable(conn, tenant, j.contact_id):
            return "unsubscribed"
        if "converted" in exits and await conditions.converted(conn, tenant, j.contact_id, since):
            return "converted"
        if "replied" in exits and await conditions.email_event(conn, tenant, j.contact_id, "replied", campaigns, since):
            return "replied"
        return None

    async def _run_step(
        self,
        conn: asyncpg.Connection,
        tenant: TenantContext,
        j: Journey,
        step: Step,
        campaigns: list[UUID],
        now: datetime,
    ) -> bool:
        """Run one step; ``False`` when the journey must wait (``due_at`` set) or ended."""
        if isinstance(step, SendEmail):
            j.note(now, step.type, await self._send(conn, tenant, j, step))
            j.step += 1
        elif isinstance(step, Wait):
            return await self._wait(conn, tenant, j, step, campaigns, now)
        elif isinstance(step, Branch):
            met = await conditions.holds(conn, tenant, step.condition, j.contact_id, campaigns, j.row["created_at"])
            target = step.then if met else step.otherwise
            j.note(now, step.type, f"{'met' if met else 'not met'} -> {target}")
            return self._go(j, target, now)
        elif isinstance(step, UpdateLead):
            j.note(now, step.type, await self._update_lead(conn, tenant, j, step))
            j.step += 1
        elif isinstance(step, CreateActivity):
            j.note(now, step.type, await self._activity(conn, tenant, j, step, now))
            j.step += 1
        elif isinstance(step, Exit):
            j.state, j.exit_reason = "exited", "exit step"
            j.note(now, step.type, "exit step")
            return False
        return True

    def _go(self, j: Journey, target: Target, now: datetime) -> bool:
        if target == "exit":
            j.state, j.exit_reason = "exited", "branch"
            return False
        j.step = j.step + 1 if target == "next" else int(target)
        return True

    async def _wait(
        self,
        conn: asyncpg.Connection,
        tenant: TenantContext,
        j: Journey,
        step: Wait,
        campaigns: list[UUID],
        now: datetime,
    ) -> bool:
        if j.waiting_since is None:
            j.waiting_since = now
            j.note(now, step.type, "started")
        started = j.waiting_since
        if step.seconds is not None:
            ends = started + timedelta(seconds=step.seconds)
            if now < ends:
                j.due_at = ends
                return False
            j.note(now, step.type, "waited")
        else:
            assert step.until is not None
            assert step.timeout_seconds is not None
            deadline = started + timedelta(seconds=step.timeout_seconds)
            if await conditions.event_happened(conn, tenant, step.until, j.contact_id, campaigns, j.row["created_at"]):
                j.note(now, step.type, f"{step.until}")
            elif now >= deadline:
                j.note(now, step.type, f"timed out waiting for {step.until}")
            else:
                j.due_at = min(deadline, now + self.recheck)
                return False
        j.waiting_since = None
        j.step += 1
        return True

    async def _send(self, conn: asyncpg.Connection, tenant: TenantContext, j: Journey, step: SendEmail) -> str:
        variants = await conn.fetchval(CAMPAIGN_VARIANTS_SQL, tenant.tid, tenant.mid, step.campaign_id)
        if variants is None:
            return "skipped: the campaign no longer exists"
        enqueued = await queue.enqueue(
            conn,
            tenant=tenant,
            campaign_id=step.campaign_id,
            contact_ids=[j.contact_id],
            account_id=None,
            limit=1,
            variants=[(v["key"], float(v.get("weight", 1.0))) for v in variants],
        )
        if enqueued.queued:
            return "queued"
        if enqueued.recipients:
            return "skipped: no usable e-mail address"
        return "skipped: no marketing consent, or already sent"

    async def _update_lead(self, conn: asyncpg.Connection, tenant: TenantContext, j: Journey, step: UpdateLead) -> str:
        lead = await conditions.lead_of(conn, tenant, j.contact_id)
        if lead is None:
            return "skipped: no lead for this contact"
        reason = f"sequence {j.row['name']}: {step.score_delta:+d}" if step.score_delta is not None else None
        changed = await conn.fetchrow(
            UPDATE_LEAD_SQL, tenant.tid, tenant.mid, lead["id"], step.score_delta, step.status, reason
        )
        if changed is None:
            return "skipped: the lead is converted"
        return f"lead {lead['id']}: score {changed['score']}, status {changed['status']}"

    async def _activity(
        self, conn: asyncpg.Connection, tenant: TenantContext, j: Journey, step: CreateActivity, now: datetime
    ) -> str:
        account_id = await conn.fetchval(ACCOUNT_SQL, tenant.tid, tenant.mid, j.contact_id)
        added = await activities.add(
            conn,
            tenant=tenant,
            activity=ActivityCreate(
                account_id=account_id,
                contact_id=j.contact_id,
                kind=step.kind,
                subject=step.subject,
                occurred_at=now,
                source="sequence",
                external_ref=f"sequence:{j.row['id']}:{j.step}",
                payload={"sequence_id": str(j.row["sequence_id"]), "step": j.step},
            ),
        )
        return "added" if added is not None else "already added"
