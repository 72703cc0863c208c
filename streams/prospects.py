"""Prospects in the database: recognise, match, record activity, score, and the reads the API serves.

A prospect is recognised across activities by :meth:`~models.prospects.matching.Person.key`. Until matched
to the CRM it is kept (``unmatched``, or ``conflict`` with the candidate records) and matched again with each
new activity, or for all of a tenant's prospects at once by :func:`rematch` (after an import of contacts).
A person's choice (:func:`confirm`) is final: ``confirmed`` is never re-matched. :class:`ProspectMatcher` (in
every Streams replica) matches the unmatched and conflicting ones again every ``VETTIFY_PROSPECT_REMATCH_S``.

The intent score is computed from the prospect's activities when one arrives and stored with the model's
weighted sum; reads fade it to now (:func:`models.prospects.intent.faded`). The tenant's weights are learned
from its leads' outcomes (:func:`train`) when the stored ones are older than ``retrain_s``.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput, NotFound
from infra.loops import PollingLoop
from models.prospects import intent
from models.prospects.intent import IntentModel, Signal
from models.prospects.matching import Candidate, Match, Person, email_key, match, name_key, profile_key
from models.prospects.relationships import Interaction, edges
from models.prospects.signals import LABELS

logger = logging.getLogger(__name__)

ProspectUpkeep = Literal["rematch", "retrain"]


class ProspectQuery(BaseModel):
    status: Literal["matched", "unmatched", "conflict", "confirmed"] | None = None
    account_id: UUID | None = None
    lead_id: UUID | None = None
    contact_id: UUID | None = None
    limit: int = Field(default=50, ge=1, le=500)


class ProspectMatch(BaseModel):
    """A person's choice of the record a prospect is: exactly one of the two."""

    model_config = ConfigDict(extra="forbid")
    contact_id: UUID | None = None
    lead_id: UUID | None = None


THRESHOLD = 60.0  # a score at or above this is worth a rep's call: crossing it publishes
SHARP_RISE = 20.0  # points gained by one activity that publish even below the threshold
RETRAIN_S = 86_400.0
HISTORY_DAYS = 180  # older activities count less than 1/5000 at a 14-day half-life

CANDIDATES_SQL = """
SELECT 'contact' AS kind, c.id::text AS id, c.attributes->>'linkedin' AS profile_url, c.email,
       concat_ws(' ', c.first_name, c.last_name) AS name, a.name AS company, c.account_id::text AS account_id,
       NULL::text AS contact_id
FROM crm.contacts c
LEFT JOIN crm.accounts a ON a.tid = c.tid AND a.mid = c.mid AND a.id = c.account_id
WHERE c.tid = $1 AND c.mid = $2 AND c.deleted_at IS NULL
  AND (lower(c.email) = $3 OR c.name_folded = ANY ($5::text[])
       OR ($4::text IS NOT NULL AND crm.fold(c.attributes->>'linkedin') LIKE '%' || $4 || '%'))
UNION ALL
SELECT 'lead', l.id::text, l.attributes->>'linkedin', l.email, concat_ws(' ', l.first_name, l.last_name),
       l.company_name, l.converted_account_id::text, l.converted_contact_id::text
FROM crm.leads l
WHERE l.tid = $1 AND l.mid = $2 AND l.deleted_at IS NULL
  AND (lower(l.email) = $3 OR l.name_folded = ANY ($5::text[])
       OR ($4::text IS NOT NULL AND crm.fold(l.attributes->>'linkedin') LIKE '%' || $4 || '%'))
LIMIT 50
"""

UPSERT_SQL = """
INSERT INTO ai.prospects (tid, whid, mid, person_key, profile_url, email, name, company, headline, first_seen,
                          last_seen)
VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $9)
ON CONFLICT (tid, mid, person_key) DO UPDATE SET
    profile_url = coalesce(EXCLUDED.profile_url, ai.prospects.profile_url),
    email = coalesce(EXCLUDED.email, ai.prospects.email),
    name = coalesce(EXCLUDED.name, ai.prospects.name),
    company = CASE WHEN $10 THEN EXCLUDED.company ELSE coalesce(ai.prospects.company, EXCLUDED.company) END,
    headline = coalesce(EXCLUDED.headline, ai.prospects.headline),
    first_seen = least(ai.prospects.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(ai.prospects.last_seen, EXCLUDED.last_seen)
RETURNING *
"""

MATCH_SQL = """
UPDATE ai.prospects SET match_status = $4, match_basis = $5, match_confidence = $6, candidates = $7,
    contact_id = $8, lead_id = $9, account_id = $10, matched_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3
"""

SIGNAL_SQL = """
INSERT INTO ai.prospect_signals (tid, whid, mid, prospect_id, event_id, kind, user_ref, occurred_at, detail)
VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8)
"""

SIGNALS_SQL = """
SELECT kind, occurred_at, user_ref FROM ai.prospect_signals
WHERE tid = $1 AND mid = $2 AND prospect_id = $3 AND occurred_at > $4::timestamptz - make_interval(days => $5::int)
ORDER BY occurred_at
"""

SCORE_SQL = """
UPDATE ai.prospects SET weighted = $4, score = $5, scored_at = $6, top_signals = $7
WHERE tid = $1 AND mid = $2 AND id = $3
"""

PUBLISHED_SQL = (
    "UPDATE ai.prospects SET published_score = $4, published_at = $5 WHERE tid = $1 AND mid = $2 AND id = $3"
)

MODEL_SQL = "SELECT model, trained_at FROM ai.intent_models WHERE tid = $1 AND mid = $2"
SAVE_MODEL_SQL = """
INSERT INTO ai.intent_models (tid, whid, mid, model, trained_at) VALUES ($1, NULL, $2, $3, $4)
ON CONFLICT (tid, mid) DO UPDATE SET model = EXCLUDED.model, trained_at = EXCLUDED.trained_at
"""

# A lead's outcome and the activities its prospect showed before it (what a score then could have known).
OUTCOMES_SQL = """
SELECT l.status = 'converted' AS converted,
       CASE WHEN l.status = 'converted' THEN coalesce(l.converted_at, l.updated_at) ELSE l.updated_at END AS at,
       array_agg(s.kind ORDER BY s.occurred_at) AS kinds, array_agg(s.occurred_at ORDER BY s.occurred_at) AS times
FROM ai.prospects p
JOIN crm.leads l ON l.tid = p.tid AND l.mid = p.mid AND l.id = p.lead_id
JOIN ai.prospect_signals s ON s.tid = p.tid AND s.mid = p.mid AND s.prospect_id = p.id
WHERE p.tid = $1 AND p.mid = $2 AND l.status IN ('converted', 'disqualified') AND l.deleted_at IS NULL
  AND s.occurred_at <= CASE WHEN l.status = 'converted' THEN coalesce(l.converted_at, l.updated_at)
                            ELSE l.updated_at END
GROUP BY l.id, l.status, l.converted_at, l.updated_at
"""

RESCORE_SQL = "SELECT id FROM ai.prospects WHERE tid = $1 AND mid = $2 AND scored_at IS NOT NULL"

COLUMNS = """id, profile_url, email, name, company, headline, match_status, match_basis, match_confidence,
    candidates, contact_id, lead_id, account_id, weighted, score, scored_at, top_signals, published_score,
    published_at, first_seen, last_seen"""


def name_forms(name: str | None) -> list[str]:
    """The folded ``first last`` forms a CRM record of this person could have (any order of the name's words)."""
    key = name_key(name)
    if key is None:
        return []
    words = key.split()[:4]
    return sorted({" ".join(p) for p in itertools.permutations(words)})


async def candidates(conn: asyncpg.Connection, tenant: TenantContext, person: Person) -> list[Candidate]:
    profile = profile_key(person.profile_url)
    slug = profile.split("/", 1)[1] if profile else None
    rows = await conn.fetch(
        CANDIDATES_SQL, tenant.tid, tenant.mid, email_key(person.email), slug, name_forms(person.name)
    )
    return [Candidate(**dict(r)) for r in rows]


async def match_prospect(conn: asyncpg.Connection, tenant: TenantContext, row: asyncpg.Record) -> Match:
    """Match one stored prospect against the CRM now and store the outcome (a confirmed one is left alone)."""
    person = Person(profile_url=row["profile_url"], email=row["email"], name=row["name"], company=row["company"])
    found = match(person, await candidates(conn, tenant, person))
    await conn.execute(
        MATCH_SQL,
        tenant.tid,
        tenant.mid,
        row["id"],
        found.status,
        found.basis,
        found.confidence or None,
        found.as_json(),
        _uuid(found.contact_id),
        _uuid(found.lead_id),
        _uuid(found.account_id),
    )
    return found


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


async def record(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    *,
    person: Person,
    key: str | None = None,
    headline: str | None,
    event_id: UUID,
    kind: str,
    user: str | None,
    at: datetime,
    detail: dict[str, Any],
) -> asyncpg.Record:
    """Store the activity under its prospect (created if new) and match the prospect if it is not yet.

    ``key``: how the prospect is recognised when ``person`` is not what it was (a job change: the new company
    is stored, the prospect stays the one recognised at the old one). Only a job change replaces a stored
    company: feeds keep showing the old one for a while."""
    key = key or person.key()
    if key is None:
        raise InvalidInput("the prospect cannot be recognised: give a profile URL, an e-mail or a name with company")
    row = await conn.fetchrow(
        UPSERT_SQL, tenant.tid, tenant.mid, key, person.profile_url, person.email, person.name, person.company,
        headline, at, kind == "job_change",
    )  # fmt: skip
    assert row is not None
    if row["match_status"] in ("unmatched", "conflict"):
        await match_prospect(conn, tenant, row)
    await conn.execute(SIGNAL_SQL, tenant.tid, tenant.mid, row["id"], event_id, kind, user, at, detail)
    return row


async def model(conn: asyncpg.Connection, tenant: TenantContext, *, retrain_s: float = RETRAIN_S) -> IntentModel:
    """The tenant's intent weights, learned again first when the stored ones are older than ``retrain_s``."""
    row = await conn.fetchrow(MODEL_SQL, tenant.tid, tenant.mid)
    if row is not None and (datetime.now(UTC) - row["trained_at"]).total_seconds() < retrain_s:
        return IntentModel.from_json(row["model"])
    return await train(conn, tenant)


async def stored_model(conn: asyncpg.Connection, tenant: TenantContext) -> IntentModel:
    """The tenant's stored weights, or the prior when none were stored yet (read-only: never trains)."""
    row = await conn.fetchrow(MODEL_SQL, tenant.tid, tenant.mid)
    if row is None:
        return intent.fit([], [])  # the prior, with the reason
    return IntentModel.from_json(row["model"])


async def train(conn: asyncpg.Connection, tenant: TenantContext) -> IntentModel:
    """Learn the tenant's weights from its leads' outcomes (the prior, with the reason, when too few) and store."""
    rows = await conn.fetch(OUTCOMES_SQL, tenant.tid, tenant.mid)
    xs = [intent.features([Signal(k, t) for k, t in zip(r["kinds"], r["times"], strict=True)], r["at"]) for r in rows]
    learned = intent.fit(xs, [r["converted"] for r in rows])
    now = datetime.now(UTC)
    await conn.execute(SAVE_MODEL_SQL, tenant.tid, tenant.mid, learned.as_json(), now)
    logger.info("intent weights for %s/%s: %s", tenant.tid, tenant.mid, learned.reason)
    return learned


@dataclass(frozen=True)
class Rescored:
    score: float
    previous: float
    weighted: float
    top: list[dict[str, Any]]


async def rescore(
    conn: asyncpg.Connection, tenant: TenantContext, prospect: asyncpg.Record, weights: IntentModel, at: datetime
) -> Rescored:
    """Score the prospect from its activities as of ``at``; ``previous`` is its stored score faded to ``at``."""
    rows = await conn.fetch(SIGNALS_SQL, tenant.tid, tenant.mid, prospect["id"], at, HISTORY_DAYS)
    signals = [Signal(r["kind"], r["occurred_at"], r["user_ref"]) for r in rows]
    total = intent.weighted(weights, intent.features(signals, at, weights.half_life_days))
    score = intent.score_of(weights, total)
    previous = intent.score_of(weights, current_weighted(weights, prospect, at))
    top = [c.as_json() for c in intent.top_signals(weights, signals, at)]
    await conn.execute(SCORE_SQL, tenant.tid, tenant.mid, prospect["id"], total, score, at, top)
    return Rescored(score, previous, total, top)


def current_weighted(weights: IntentModel, prospect: asyncpg.Record | dict[str, Any], now: datetime) -> float:
    if prospect["scored_at"] is None:
        return 0.0
    return intent.faded(weights, prospect["weighted"], prospect["scored_at"], max(now, prospect["scored_at"]))


def publish_reason(
    rescored: Rescored, threshold: float = THRESHOLD, rise: float = SHARP_RISE
) -> Literal["crossed_threshold", "sharp_rise"] | None:
    if rescored.previous < threshold <= rescored.score:
        return "crossed_threshold"
    if rescored.score - rescored.previous >= rise:
        return "sharp_rise"
    return None


async def published(conn: asyncpg.Connection, tenant: TenantContext, prospect_id: UUID, score: float) -> None:
    await conn.execute(PUBLISHED_SQL, tenant.tid, tenant.mid, prospect_id, score, datetime.now(UTC))


# --- reads and actions for the API -------------------------------------------------------------------------------
def _public(row: asyncpg.Record, weights: IntentModel, now: datetime) -> dict[str, Any]:
    data = dict(row)
    data["score"] = round(intent.score_of(weights, current_weighted(weights, data, now)), 2)
    data.pop("weighted")
    data["score_computed_at"] = data.pop("scored_at")
    return data


async def listing(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    *,
    status: str | None = None,
    account_id: UUID | None = None,
    lead_id: UUID | None = None,
    contact_id: UUID | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Prospects by their score now, highest first, with the model that scores them."""
    weights = await stored_model(conn, tenant)
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM ai.prospects WHERE tid = $1 AND mid = $2
            AND ($3::text IS NULL OR match_status = $3) AND ($4::uuid IS NULL OR account_id = $4)
            AND ($5::uuid IS NULL OR lead_id = $5) AND ($6::uuid IS NULL OR contact_id = $6)
            ORDER BY weighted * exp(-ln(2) * extract(epoch FROM now() - coalesce(scored_at, now())) / 86400 / $7)
                     DESC, last_seen DESC
            LIMIT $8""",
        tenant.tid, tenant.mid, status, account_id, lead_id, contact_id, weights.half_life_days, limit,
    )  # fmt: skip
    now = datetime.now(UTC)
    return {
        "threshold": THRESHOLD,
        "model": {"source": weights.source, "reason": weights.reason, "outcomes": weights.outcomes},
        "prospects": [_public(r, weights, now) for r in rows],
    }


async def detail(conn: asyncpg.Connection, tenant: TenantContext, prospect_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM ai.prospects WHERE tid = $1 AND mid = $2 AND id = $3", tenant.tid, tenant.mid,
        prospect_id,
    )  # fmt: skip
    if row is None:
        raise NotFound(f"no prospect with id {prospect_id}")
    weights = await stored_model(conn, tenant)
    now = datetime.now(UTC)
    signals = await conn.fetch(
        "SELECT kind, occurred_at, user_ref, detail FROM ai.prospect_signals WHERE tid = $1 AND mid = $2 "
        "AND prospect_id = $3 ORDER BY occurred_at DESC LIMIT 200",
        tenant.tid, tenant.mid, prospect_id,
    )  # fmt: skip
    history = [Signal(s["kind"], s["occurred_at"], s["user_ref"]) for s in signals]
    out = _public(row, weights, now)
    out["top_signals"] = [c.as_json() for c in intent.top_signals(weights, history, now)]
    out["activities"] = [{**dict(s), "label": LABELS[s["kind"]]} for s in signals]
    out["relationships"] = [e.as_json() for e in edges(_interactions(signals, str(prospect_id)), now)]
    out["model"] = {"source": weights.source, "reason": weights.reason}
    return out


def _interactions(rows: list[asyncpg.Record], prospect: str) -> list[Interaction]:
    return [Interaction(r["user_ref"], prospect, r["kind"], r["occurred_at"]) for r in rows if r["user_ref"]]


async def relationships(
    conn: asyncpg.Connection, tenant: TenantContext, *, account_id: UUID | None, user: str | None, days: int
) -> list[dict[str, Any]]:
    """Who of ours interacted with whom (an account's prospects, or one user's), strongest first."""
    rows = await conn.fetch(
        """SELECT s.kind, s.occurred_at, s.user_ref, p.id AS prospect_id, p.name, p.company, p.account_id
           FROM ai.prospect_signals s JOIN ai.prospects p ON p.tid = s.tid AND p.mid = s.mid AND p.id = s.prospect_id
           WHERE s.tid = $1 AND s.mid = $2 AND s.user_ref IS NOT NULL
             AND s.occurred_at > now() - make_interval(days => $3)
             AND ($4::uuid IS NULL OR p.account_id = $4) AND ($5::text IS NULL OR s.user_ref = $5)""",
        tenant.tid, tenant.mid, days, account_id, user,
    )  # fmt: skip
    people = {str(r["prospect_id"]): {"name": r["name"], "company": r["company"], "account_id": r["account_id"]}
              for r in rows}  # fmt: skip
    found = edges(
        [Interaction(r["user_ref"], str(r["prospect_id"]), r["kind"], r["occurred_at"]) for r in rows],
        datetime.now(UTC),
    )
    return [{**e.as_json(), **people[e.prospect]} for e in found]


async def rematch(
    conn: asyncpg.Connection, tenant: TenantContext, limit: int = 5000, *, older_than_s: float = 0.0
) -> dict[str, int]:
    """Match again every prospect not matched yet (after an import of contacts or leads); with ``older_than_s``,
    only those last matched longer ago than that. Rows another transaction holds are left for the next round."""
    rows = await conn.fetch(
        "SELECT id, profile_url, email, name, company FROM ai.prospects WHERE tid = $1 AND mid = $2 "
        "AND match_status IN ('unmatched', 'conflict') "
        "AND (matched_at IS NULL OR matched_at < now() - make_interval(secs => $4::float8)) "
        "ORDER BY last_seen DESC LIMIT $3 FOR UPDATE SKIP LOCKED",
        tenant.tid, tenant.mid, limit, older_than_s,
    )  # fmt: skip
    counts = {"checked": len(rows), "matched": 0, "conflict": 0, "unmatched": 0}
    for row in rows:
        counts[(await match_prospect(conn, tenant, row)).status] += 1
    return counts


DUE_SQL = """
SELECT DISTINCT tid, mid FROM ai.prospects
WHERE match_status IN ('unmatched', 'conflict')
  AND (matched_at IS NULL OR matched_at < now() - make_interval(secs => $1))
LIMIT $2
"""


class ProspectMatcher(PollingLoop):
    """Matches again, every ``every_s``, the prospects the CRM did not know (or could not tell apart) when
    they were last matched: a contact or lead created since links them without waiting for their next
    activity. ``scan_pool`` is the worker role's, which sees only which tenants have such prospects."""

    task_name = "prospect-matcher"

    def __init__(
        self, pool: asyncpg.Pool, scan_pool: asyncpg.Pool, *, every_s: float, batch: int = 20, per_tenant: int = 500
    ) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.every_s = every_s
        self.batch = batch
        self.per_tenant = per_tenant
        self.idle_sleep_s = min(every_s, 60.0)

    async def run_once(self) -> int:
        async with self.scan_pool.acquire() as conn:
            due = await conn.fetch(DUE_SQL, self.every_s, self.batch)
        for r in due:
            tenant = TenantContext(tid=r["tid"], mid=r["mid"])
            async with tenant_transaction(self.pool, tenant) as conn:
                counts = await rematch(conn, tenant, self.per_tenant, older_than_s=self.every_s)
            if counts["matched"]:
                logger.info("prospects matched for %s/%s: %s", tenant.tid, tenant.mid, counts)
        return len(due)


async def confirm(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    prospect_id: UUID,
    *,
    contact_id: UUID | None,
    lead_id: UUID | None,
) -> dict[str, Any]:
    """A person's choice of the prospect's record: final, never re-matched."""
    if (contact_id is None) == (lead_id is None):
        raise InvalidInput("give exactly one of contact_id or lead_id", fields=["contact_id", "lead_id"])
    if contact_id is not None:
        target = await conn.fetchrow(
            "SELECT account_id FROM crm.contacts WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL",
            tenant.tid, tenant.mid, contact_id,
        )  # fmt: skip
    else:
        target = await conn.fetchrow(
            "SELECT converted_account_id AS account_id, converted_contact_id FROM crm.leads "
            "WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL",
            tenant.tid, tenant.mid, lead_id,
        )  # fmt: skip
        if target is not None:
            contact_id = target["converted_contact_id"]
    if target is None:
        raise NotFound(f"no {'contact' if lead_id is None else 'lead'} with id {contact_id or lead_id}")
    status = await conn.execute(
        "UPDATE ai.prospects SET match_status = 'confirmed', match_basis = 'confirmed', match_confidence = 1, "
        "candidates = '[]', contact_id = $4, lead_id = $5, account_id = $6, matched_at = now() "
        "WHERE tid = $1 AND mid = $2 AND id = $3",
        tenant.tid, tenant.mid, prospect_id, contact_id, lead_id, target["account_id"],
    )  # fmt: skip
    if status.endswith(" 0"):
        raise NotFound(f"no prospect with id {prospect_id}")
    return await detail(conn, tenant, prospect_id)


async def retrain(conn: asyncpg.Connection, tenant: TenantContext) -> dict[str, Any]:
    """Learn the weights now and bring every stored score onto them (the stored sums were under the old ones)."""
    weights = await train(conn, tenant)
    now = datetime.now(UTC)
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM ai.prospects WHERE tid = $1 AND mid = $2 AND scored_at IS NOT NULL "
                            "FOR UPDATE", tenant.tid, tenant.mid)  # fmt: skip
    for row in rows:
        await rescore(conn, tenant, row, weights, now)
    return {**weights.as_json(), "rescored": len(rows), "trained_at": now}
