"""The A/B optimiser: reads each running campaign experiment, decides, and reallocates the queued sends.

Every ``ab_check_interval_s`` each running experiment (:mod:`crm_core.delivery.experiments`) is analysed by
:func:`models.marketing.ab.analyze` on its arms' counts, with the expected share of each arm under the
allocations so far for the sample-ratio check. Then, in one tenant transaction:

* the analysis, decision and winner are stored on the experiment;
* if the Thompson allocation moved by :data:`MIN_SHIFT` or more for an arm, or the decision changed, the
  recipients still queued get a variant under the new weights (a new epoch), and ``crm.ab.test.optimized``
  is published with the decision, the allocation before and after and how many recipients moved;
* a winner ends the experiment (every queued recipient gets the winner); a campaign that finished sending
  ends it with its last analysis.

The loop finds running experiments with the worker role (scheduling columns only) and does everything else
inside the tenant (RLS). A crash between two checks loses nothing: the next check reads the same rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.delivery import experiments
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import NotFound
from infra.events import outbox
from infra.loops import PollingLoop
from models.marketing.ab import ArmInput, ExperimentAnalysis, ExperimentRequest, analyze
from streams.schemas import ABTestOptimized, ArmSummary

logger = logging.getLogger(__name__)

MIN_SHIFT = 0.05  # smaller moves of the allocation are not worth a reallocation and an event
EVENT = "crm.ab.test.optimized"


def request_of(arms: list[experiments.ArmCounts], metric: str, alpha: float) -> ExperimentRequest:
    revenue = metric == "revenue"
    return ExperimentRequest(
        arms=[
            ArmInput(
                name=a.variant,
                recipients=a.sent,
                conversions=min(a.conversions, a.sent),
                revenue=a.revenue[: a.sent] if revenue else None,
                weight=a.expected if a.expected > 0 else None,
            )
            for a in arms
        ],
        metric="revenue" if revenue else "conversion",
        alpha=alpha,
        seed=0,  # the same counts give the same answer at every read
    )


async def analyse(
    conn: asyncpg.Connection, *, tenant: TenantContext, row: asyncpg.Record, alpha: float, window_days: int
) -> ExperimentAnalysis:
    epochs: list[dict[str, Any]] = row["epochs"] if isinstance(row["epochs"], list) else _json(row["epochs"])
    arms = await experiments.arm_counts(
        conn,
        tenant=tenant,
        campaign_id=row["campaign_id"],
        metric=row["metric"],
        epochs=epochs,
        currency=row["currency"],
        window_days=window_days,
    )
    if any(a.expected == 0 for a in arms):  # nothing sent yet: the plan's weights are the expectation
        for a in arms:
            a.expected = float(epochs[0]["weights"].get(a.variant, 0.0)) or 1e-9
    return analyze(request_of(arms, row["metric"], alpha))


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def shifted(before: dict[str, float], after: dict[str, float]) -> bool:
    return any(abs(after.get(k, 0.0) - before.get(k, 0.0)) >= MIN_SHIFT for k in set(before) | set(after))


async def check(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    alpha: float,
    window_days: int,
    now: datetime,
) -> ABTestOptimized | None:
    """One check of one experiment inside its tenant's transaction; the event when one was published."""
    row = await experiments.load(conn, tenant=tenant, campaign_id=campaign_id)
    if row is None or row["state"] != "running":
        return None
    result = await analyse(conn, tenant=tenant, row=row, alpha=alpha, window_days=window_days)
    epochs = _json(row["epochs"])
    before = {k: float(v) for k, v in epochs[-1]["weights"].items()}
    after = {k: float(v) for k, v in result.allocation.items()}
    sending = row["campaign_status"] == "sending"
    state = "decided" if result.decision == "winner" else ("running" if sending else "finished")
    moved = sending and result.decision not in ("not_enough_data", "sample_ratio_mismatch") and shifted(before, after)
    reassigned = 0
    new_epoch = None
    if moved:
        epoch = int(epochs[-1]["epoch"]) + 1
        new_epoch = experiments.epoch_entry(epoch, after, now, result.decision)
        reassigned = await experiments.reassign_queued(
            conn, tenant=tenant, campaign_id=campaign_id, weights=after, epoch=epoch
        )
    await experiments.record(
        conn,
        tenant=tenant,
        campaign_id=campaign_id,
        analysis=result.model_dump(mode="json"),
        decision=result.decision,
        winner=result.winner,
        state=state,
        checked_at=now,
        new_epoch=new_epoch,
    )
    if not moved and result.decision == (row["decision"] or "not_enough_data"):  # nothing new to announce
        return None
    event = ABTestOptimized(
        campaign_id=campaign_id,
        metric=row["metric"],
        decision=result.decision,
        winner=result.winner,
        reason=result.reason,
        allocation=after if moved else before,
        previous_allocation=before,
        epoch=new_epoch["epoch"] if new_epoch else int(epochs[-1]["epoch"]),
        reassigned=reassigned,
        arms=[
            ArmSummary(variant=a.name, recipients=a.recipients, conversions=a.conversions, p_best=a.p_best)
            for a in result.arms
        ],
    )
    await outbox.enqueue(
        conn,
        tenant=tenant,
        event_type=EVENT,
        aggregate_type="campaign",
        aggregate_id=campaign_id,
        payload=event.model_dump(mode="json"),
    )
    return event


async def campaign_experiment(
    conn: asyncpg.Connection, *, tenant: TenantContext, campaign_id: UUID, alpha: float, window_days: int
) -> dict[str, Any]:
    """The experiment as stored (allocations so far, state) with an analysis of the counts as they are now."""
    row = await experiments.load(conn, tenant=tenant, campaign_id=campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id} has no A/B experiment (it was not sent with two or more variants)")
    result = await analyse(conn, tenant=tenant, row=row, alpha=alpha, window_days=window_days)
    return {
        "campaign_id": str(campaign_id),
        "campaign": row["campaign_name"],
        "metric": row["metric"],
        "state": row["state"],
        "started_at": row["created_at"].isoformat(),
        "checked_at": row["checked_at"].isoformat() if row["checked_at"] else None,
        "allocations": _json(row["epochs"]),
        "analysis": result.model_dump(mode="json"),
    }


class ExperimentOptimizer(PollingLoop):
    """Checks every running experiment once per ``interval_s`` (see the module)."""

    task_name = "ab-optimizer"

    def __init__(
        self,
        pool: asyncpg.Pool,
        scan_pool: asyncpg.Pool,
        *,
        interval_s: float = 60.0,
        alpha: float = 0.05,
        window_days: int = 7,
        batch: int = 50,
    ) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.interval_s = interval_s
        self.idle_sleep_s = min(interval_s, 5.0)
        self.alpha = alpha
        self.window_days = window_days
        self.batch = batch
        self.events = 0

    async def run_once(self) -> int:
        now = datetime.now(UTC)
        async with self.scan_pool.acquire() as conn:
            due = await experiments.running(
                conn, checked_before=now - timedelta(seconds=self.interval_s), limit=self.batch
            )
        for tenant, campaign_id in due:
            try:
                async with tenant_transaction(self.pool, tenant) as conn:
                    fired = await check(
                        conn,
                        tenant=tenant,
                        campaign_id=campaign_id,
                        alpha=self.alpha,
                        window_days=self.window_days,
                        now=now,
                    )
            except (asyncpg.PostgresError, OSError):
                raise
            except Exception:  # a broken experiment must not stop the others: logged, retried next interval
                logger.exception("A/B check of campaign %s failed", campaign_id)
                async with tenant_transaction(self.pool, tenant) as conn:
                    await experiments.touch(conn, tenant=tenant, campaign_id=campaign_id, checked_at=now)
                continue
            self.events += fired is not None
        return len(due)
