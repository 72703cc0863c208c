"""Each tenant's predictive lead scoring: outcomes from its own leads, the gate, the model in force.

*Outcomes* are the tenant's leads that ended: ``converted`` (won) and ``disqualified`` (lost), plus leads
still open :data:`STALE_DAYS` after they were created (lost too: nobody converts a year-old lead). A lead's
facts are what the CRM knew *before* its outcome, so the model never learns from what happened after:

* the record (e-mail domain, phone, company, CUI, source, name) as the rule reads it;
* the company's ANAF record (VAT registration), from an account with the same CUI;
* ``employees`` and ``turnover_ron`` when the integrator put them in the lead's ``attributes``;
* e-mail engagement: opens and clicks of campaign e-mails sent to the lead's address, and days since the last
  one, all counted up to the outcome (or now, for a lead being scored);
* LinkedIn intent, when the lead's person is a matched prospect: the score their activities up to the outcome
  give under the *prior* intent weights (:mod:`models.prospects`; the tenant's learned intent weights come from
  these same outcomes, so using them here would leak the outcome into the feature).

:func:`train` runs :func:`models.leadscore.model.decide` on them and stores the decision, with its held-out
comparison, in ``crm.lead_scoring_models``; :func:`score` answers with the model in force when the decision
was ``model``, and with the rule score otherwise. A model qualifies as many leads as the rule did on the
tenant's leads, the ones it ranks highest (its ``threshold``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np

from crm_core.schemas.leads import LeadPublic
from crm_core.services.lead_scoring import QUALIFY_THRESHOLD, LeadScore, lead_facts, record_facts, score_lead
from infra import decisions
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.loops import PollingLoop
from models.leadscore.facts import LeadFacts
from models.leadscore.model import Decision, LeadScoringModel, decide, rule_scores
from models.prospects import intent
from models.prospects.intent import Signal

logger = logging.getLogger(__name__)

STALE_DAYS = 180

FACTS_SQL = """
SELECT l.id, l.created_at, l.status, l.email, l.phone, l.company_name, l.cui, l.source, l.first_name, l.last_name,
       l.attributes, l.converted_at, l.updated_at, a.anaf_data,
       coalesce(e.opened, 0) AS opened, coalesce(e.clicked, 0) AS clicked, e.last_event,
       coalesce(i.tracked, false) AS tracked, i.intent_kinds, i.intent_times
FROM crm.leads l
LEFT JOIN LATERAL (
    SELECT anaf_data FROM crm.accounts a
    WHERE l.cui IS NOT NULL AND a.tid = l.tid AND a.mid = l.mid AND a.cui = l.cui AND a.anaf_data IS NOT NULL
      AND a.deleted_at IS NULL
    ORDER BY a.updated_at DESC LIMIT 1
) a ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE ev.kind = 'opened') AS opened,
           count(*) FILTER (WHERE ev.kind = 'clicked') AS clicked,
           max(ev.occurred_at) AS last_event
    FROM crm.email_deliveries d
    JOIN crm.email_events ev ON ev.tid = d.tid AND ev.mid = d.mid AND ev.delivery_id = d.id
    WHERE l.email IS NOT NULL AND d.tid = l.tid AND d.mid = l.mid AND lower(d.email) = lower(l.email)
      AND ev.occurred_at < {until}
) e ON true
LEFT JOIN LATERAL (
    SELECT p.id IS NOT NULL AS tracked, s.kinds AS intent_kinds, s.times AS intent_times
    FROM (SELECT id FROM ai.prospects p WHERE p.tid = l.tid AND p.mid = l.mid AND p.lead_id = l.id LIMIT 1) p
    LEFT JOIN LATERAL (
        SELECT array_agg(s.kind) AS kinds, array_agg(s.occurred_at) AS times FROM ai.prospect_signals s
        WHERE s.tid = l.tid AND s.mid = l.mid AND s.prospect_id = p.id AND s.occurred_at <= {until}
    ) s ON true
) i ON true
WHERE l.tid = $1 AND l.mid = $2 AND l.deleted_at IS NULL {which}
"""
# When a lead's outcome happened: engagement after it is not known to a model scoring the lead before it.
OUTCOME_AT = (
    "CASE WHEN l.status = 'converted' THEN coalesce(l.converted_at, l.updated_at) "
    "WHEN l.status = 'disqualified' THEN l.updated_at ELSE $3::timestamptz END"
)
OUTCOMES_SQL = FACTS_SQL.format(
    until=OUTCOME_AT,
    which="AND (l.status IN ('converted', 'disqualified') "
    "OR l.created_at < $3::timestamptz - make_interval(days => $4)) ORDER BY l.created_at, l.id",
)
ONE_SQL = FACTS_SQL.format(until="$3::timestamptz", which="AND l.id = $4")

LATEST_SQL = """
SELECT id, created_at, whid, uses, reason, outcomes, converted, comparison, model, threshold, trained_by
FROM crm.lead_scoring_models WHERE tid = $1 AND mid = $2
ORDER BY (whid IS NULL), created_at DESC LIMIT 1
"""
HISTORY_SQL = """
SELECT id, created_at, whid, uses, reason, outcomes, converted, comparison, threshold, trained_by
FROM crm.lead_scoring_models WHERE tid = $1 AND mid = $2
ORDER BY created_at DESC LIMIT $3
"""
INSERT_SQL = """
INSERT INTO crm.lead_scoring_models (tid, whid, mid, uses, reason, outcomes, converted, comparison, model, threshold,
    trained_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id, created_at, whid, uses, reason, outcomes, converted, comparison, model, threshold, trained_by
"""
DUE_SQL = """
SELECT tid, whid, mid, max(created_at) AS trained_at FROM crm.lead_scoring_models
GROUP BY tid, whid, mid HAVING max(created_at) < now() - make_interval(secs => $1)
ORDER BY max(created_at) LIMIT $2
"""


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def facts_of(row: asyncpg.Record, now: datetime) -> LeadFacts:
    """The lead's facts from one :data:`FACTS_SQL` row, as known at its outcome (or ``now``)."""
    record = record_facts(
        email=row["email"],
        phone=row["phone"],
        company_name=row["company_name"],
        cui=row["cui"],
        source=row["source"],
        first_name=row["first_name"],
        last_name=row["last_name"],
    )
    attributes, anaf = row["attributes"], row["anaf_data"] or {}  # jsonb: decoded by the pool's codec
    employees = _number(attributes.get("employees"))
    until = _outcome_at(row, now)
    last = row["last_event"]
    return replace(
        record,
        employees=int(employees) if employees is not None else None,
        turnover_ron=_number(attributes.get("turnover_ron")),
        vat_registered=anaf.get("vat_registered"),
        emails_opened=int(row["opened"]),
        emails_clicked=int(row["clicked"]),
        days_since_activity=max(0.0, (until - last).total_seconds() / 86400) if last else None,
        intent=_intent(row, until),
    )


def _intent(row: asyncpg.Record, until: datetime) -> float | None:
    """The prior intent score of the lead's prospect at ``until``; None when no prospect is matched to it."""
    if not row["tracked"]:
        return None
    kinds, times = row["intent_kinds"] or [], row["intent_times"] or []
    x = intent.features([Signal(k, t) for k, t in zip(kinds, times, strict=True)], until)
    return round(intent.score_of(intent.PRIOR, intent.weighted(intent.PRIOR, x)), 2)


def _outcome_at(row: asyncpg.Record, now: datetime) -> datetime:
    at: datetime = now
    if row["status"] == "converted":
        at = row["converted_at"] or row["updated_at"]
    elif row["status"] == "disqualified":
        at = row["updated_at"]
    return at


@dataclass(frozen=True)
class Outcomes:
    facts: list[LeadFacts]
    converted: list[bool]


async def outcomes(conn: asyncpg.Connection, tenant: TenantContext, *, stale_days: int = STALE_DAYS) -> Outcomes:
    """The tenant's ended leads, oldest first, with what was known about each before it ended."""
    now = datetime.now(UTC)
    rows = await conn.fetch(OUTCOMES_SQL, tenant.tid, tenant.mid, now, stale_days)
    return Outcomes([facts_of(r, now) for r in rows], [r["status"] == "converted" for r in rows])


def _threshold(model: LeadScoringModel, facts: list[LeadFacts]) -> float:
    """The probability above which the model qualifies the same share of leads as the rule does."""
    share = float(np.mean(rule_scores(facts) >= QUALIFY_THRESHOLD))
    share = min(max(share, 0.01), 0.99)
    return round(float(np.quantile(model.predict(facts), 1 - share)), 4)


def _decision_json(decision: Decision) -> dict[str, Any] | None:
    c = decision.comparison
    if c is None:
        return None
    return {"holdout": c.holdout, "model_auc": c.model_auc, "rule_auc": c.rule_auc, "difference_low": c.difference_low}


async def train(
    conn: asyncpg.Connection, tenant: TenantContext, *, by: str, stale_days: int = STALE_DAYS
) -> dict[str, Any]:
    """Decide and store which score the tenant's leads get; the stored row."""
    found = await outcomes(conn, tenant, stale_days=stale_days)
    decision = await asyncio.to_thread(decide, found.facts, found.converted)  # a second of CPU at most
    model_json: dict[str, Any] | None = None
    threshold: float | None = None
    if decision.model is not None:
        threshold = _threshold(decision.model, found.facts)
        model_json = decision.model.to_json()
    row = await conn.fetchrow(
        INSERT_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        decision.use,
        decision.reason,
        len(found.converted),
        sum(found.converted),
        _decision_json(decision),  # jsonb: the pool's codec encodes it
        model_json,
        threshold,
        by,
    )
    return dict(row)


async def latest(conn: asyncpg.Connection, tenant: TenantContext) -> dict[str, Any] | None:
    row = await conn.fetchrow(LATEST_SQL, tenant.tid, tenant.mid)
    return dict(row) if row else None


async def history(conn: asyncpg.Connection, tenant: TenantContext, limit: int = 20) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(HISTORY_SQL, tenant.tid, tenant.mid, limit)]


@dataclass(frozen=True)
class Scored:
    score: LeadScore
    qualified: bool
    decision: dict[str, Any] | None = None  # the model's output and explanation (None: the rule scored it)


async def score(conn: asyncpg.Connection, tenant: TenantContext, lead: LeadPublic) -> Scored:
    """The tenant's model when its last training adopted one, else the rule."""
    current = await latest(conn, tenant)
    if current is None or current["uses"] != "model":
        computed = score_lead(lead)
        return Scored(computed, computed.score >= QUALIFY_THRESHOLD)
    model = LeadScoringModel.from_json(current["model"])
    now = datetime.now(UTC)
    row = await conn.fetchrow(ONE_SQL, tenant.tid, tenant.mid, now, lead.id)
    facts = facts_of(row, now) if row is not None else lead_facts(lead)
    probability = float(model.predict([facts])[0])
    comparison = current["comparison"]
    contributions = model.contributions(facts, top=10)
    reasons = (
        f"tenant model (AUC {comparison['model_auc']:.3f} vs rule {comparison['rule_auc']:.3f} on "
        f"{comparison['holdout']} held-out leads): P(convert) {probability:.2f}",
        "strongest: " + ", ".join(f"{c.name} {c.log_odds:+.2f}" for c in contributions[:3]),
    )
    qualified = probability >= float(current["threshold"])
    decision = {
        "model_version": f"lead-scoring:{current['id']}",
        "input_digest": decisions.input_hash(asdict(facts)),
        "output": {"probability": round(probability, 4), "qualified": qualified},
        "explanation": {
            "contributions": [asdict(c) for c in contributions],
            "threshold": current["threshold"],
            "comparison": comparison,
        },
    }
    return Scored(LeadScore(round(100 * probability), reasons), qualified, decision)


async def record(conn: asyncpg.Connection, tenant: TenantContext, lead_id: UUID, scored: Scored) -> None:
    """The decision record of a lead scored by the tenant's model, in the transaction storing the score."""
    if scored.decision is None:
        return
    await decisions.record(conn, tenant, kind="lead_score", ref_id=lead_id, model="lead-scoring", **scored.decision)


class LeadScoringRetrainer(PollingLoop):
    """Retrains every scope that has a lead-scoring decision older than ``every_s`` (a tenant opts in by training
    once); ``scan_pool`` is the worker role's, which sees only which scopes have one and when."""

    task_name = "lead-scoring-retrainer"

    def __init__(self, pool: asyncpg.Pool, scan_pool: asyncpg.Pool, *, every_s: float, batch: int = 20) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.every_s = every_s
        self.batch = batch
        self.idle_sleep_s = min(every_s, 600.0)

    async def run_once(self) -> int:
        async with self.scan_pool.acquire() as conn:
            due = await conn.fetch(DUE_SQL, self.every_s, self.batch)
        for r in due:
            tenant = TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"])
            async with tenant_transaction(self.pool, tenant) as conn:
                row = await train(conn, tenant, by="schedule")
            logger.info("lead scoring retrained for %s/%s: %s (%s)", tenant.tid, tenant.mid, row["uses"], row["reason"])
        return len(due)
