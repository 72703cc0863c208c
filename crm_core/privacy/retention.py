"""Retention: each tenant's storage limits per kind of data, applied by a scheduled job that keeps aggregates.

A tenant sets days per kind in its privacy settings (null: kept):

* ``mention_text_days`` — a mention's text, author, link, aspects and vector go; its sentiment, brand,
  platform and time stay, so brand timelines and share of voice still add up;
* ``transcript_days`` — a call's transcript, segments, words, keywords, aspects, passages and vectors go;
  its figures (duration, sentiment, pace, talk ratio, engagement, emotion) stay;
* ``tracking_days`` — web behaviour events and journeys, recommendation interactions, the details (IP, user
  agent, clicked link) of e-mail events, and the details of LinkedIn activities (a comment's text, post links,
  thread ids) go; the e-mail events and LinkedIn activities themselves stay counted (a prospect's intent
  still reads their kind and time).

Published ``crm.*`` events that carried the expiring data (mentions, calls, journeys) keep their type and
time; their payload becomes ``{"expired": true}``.

:func:`preview` is the dry run: per rule, how many rows would change now and the cut-off. The
:class:`RetentionRunner` finds (as ``vettify_worker``) the tenants that set a limit and applies each rule in
batches of ``batch_size`` rows, each batch its own transaction (a restart loses nothing: the rules only
select rows that still hold the data), and writes one ``retention`` audit entry per tenant and pass that
changed anything. The clock is injectable, so tests move time instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from crm_core.privacy import settings as privacy
from crm_core.privacy.subject import privacy_transaction
from crm_core.repositories import audit
from infra.db import rows_changed
from infra.db.tenancy import TenantContext
from infra.loops import PollingLoop

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

CALL_TEXT_KEYS = ["transcript", "segments", "words", "keywords", "turns"]


@dataclass(frozen=True)
class Rule:
    """One kind of expiring data in one table: ``where`` counts rows past the cut-off ($3) that still hold it;
    ``apply`` changes up to $4 of them ($1 tid, $2 mid) — or, a ``SELECT`` of a function, takes mid, cut-off
    and batch size as $1, $2, $3."""

    name: str
    setting: str  # the PrivacySettings field holding the days
    where: str
    apply: str


def _batch(table: str, where: str, change: str) -> str:
    return f"{change} WHERE ctid IN (SELECT ctid FROM {table} WHERE {where} LIMIT $4)"


MENTIONS_WHERE = "tid = $1 AND mid = $2 AND posted_at < $3 AND (embedding IS NOT NULL OR text <> '')"
CALLS_WHERE = (
    "tid = $1 AND mid = $2 AND recorded_at < $3 AND (transcript IS NOT NULL OR embedding IS NOT NULL "
    "OR analysis ?| ARRAY['transcript', 'segments', 'words'])"
)
PASSAGES_WHERE = (
    "tid = $1 AND mid = $2 AND call_analysis_id IN "
    "(SELECT id FROM ai.call_analyses WHERE tid = $1 AND mid = $2 AND recorded_at < $3)"
)
BEHAVIOUR_WHERE = "tid = $1 AND mid = $2 AND occurred_at < $3"
JOURNEYS_WHERE = "tid = $1 AND mid = $2 AND last_seen_at < $3"
INTERACTIONS_WHERE = "tid = $1 AND mid = $2 AND occurred_at < $3"


def _events_where(*aggregate_types: str) -> str:
    kinds = ", ".join(f"'{k}'" for k in aggregate_types)
    return (
        f"tid = $1 AND mid = $2 AND aggregate_type IN ({kinds}) AND occurred_at < $3 "
        "AND published_at IS NOT NULL AND NOT payload ? 'expired'"
    )


def _events_rule(name: str, setting: str, *aggregate_types: str) -> Rule:
    """Published ``crm.*`` events carrying the expiring data: their payloads become ``{"expired": true}``."""
    where = _events_where(*aggregate_types)
    return Rule(
        name,
        setting,
        f"SELECT count(*) FROM crm.outbox WHERE {where}",
        _batch("crm.outbox", where, "UPDATE crm.outbox SET payload = '{\"expired\": true}'::jsonb"),
    )


PROSPECT_DETAILS_WHERE = "tid = $1 AND mid = $2 AND occurred_at < $3 AND detail <> '{}'::jsonb"
EMAIL_EVENTS_WHERE = "tid = $1 AND mid = $2 AND occurred_at < $3 AND (detail <> '{}'::jsonb OR url IS NOT NULL)"

RULES: tuple[Rule, ...] = (
    Rule(
        "mention_text",
        "mention_text_days",
        f"SELECT count(*) FROM ai.social_insights WHERE {MENTIONS_WHERE}",
        _batch(
            "ai.social_insights",
            MENTIONS_WHERE,
            "UPDATE ai.social_insights SET text = '', author = NULL, url = NULL, post_id = NULL, "
            "aspects = '[]'::jsonb, "
            "embedding = NULL",
        ),
    ),
    _events_rule("mention_events", "mention_text_days", "social_insight"),
    Rule(
        "call_passages",
        "transcript_days",
        f"SELECT count(*) FROM ai.call_passages WHERE {PASSAGES_WHERE}",
        _batch("ai.call_passages", PASSAGES_WHERE, "DELETE FROM ai.call_passages"),
    ),
    Rule(
        "call_transcripts",
        "transcript_days",
        f"SELECT count(*) FROM ai.call_analyses WHERE {CALLS_WHERE}",
        _batch(
            "ai.call_analyses",
            CALLS_WHERE,
            "UPDATE ai.call_analyses SET transcript = NULL, embedding = NULL, keywords = '[]'::jsonb, "
            f"aspects = '[]'::jsonb, analysis = (analysis - ARRAY{CALL_TEXT_KEYS}::text[]) "
            "|| jsonb_build_object('text_expired', true)",
        ),
    ),
    _events_rule("call_events", "transcript_days", "call"),
    Rule(
        "behaviour_events",
        "tracking_days",
        f"SELECT count(*) FROM ai.behavior_events WHERE {BEHAVIOUR_WHERE}",
        _batch("ai.behavior_events", BEHAVIOUR_WHERE, "DELETE FROM ai.behavior_events"),
    ),
    Rule(
        "journeys",
        "tracking_days",
        f"SELECT count(*) FROM ai.behavior_patterns WHERE {JOURNEYS_WHERE}",
        _batch("ai.behavior_patterns", JOURNEYS_WHERE, "DELETE FROM ai.behavior_patterns"),
    ),
    Rule(
        "item_interactions",
        "tracking_days",
        f"SELECT count(*) FROM ai.item_interactions WHERE {INTERACTIONS_WHERE}",
        _batch("ai.item_interactions", INTERACTIONS_WHERE, "DELETE FROM ai.item_interactions"),
    ),
    Rule(
        "email_event_details",
        "tracking_days",
        f"SELECT count(*) FROM crm.email_events WHERE {EMAIL_EVENTS_WHERE}",
        "SELECT crm.expire_email_event_details($1, $2, $3)",  # append-only: the owner's function (mid, cut-off, n)
    ),
    _events_rule("journey_events", "tracking_days", "session", "pixel_session"),
    Rule(
        "prospect_activity_details",
        "tracking_days",
        f"SELECT count(*) FROM ai.prospect_signals WHERE {PROSPECT_DETAILS_WHERE}",
        _batch("ai.prospect_signals", PROSPECT_DETAILS_WHERE, "UPDATE ai.prospect_signals SET detail = '{}'::jsonb"),
    ),
)

TENANTS_SQL = """
SELECT tid, mid, mention_text_days, transcript_days, tracking_days FROM crm.privacy_settings
WHERE mention_text_days IS NOT NULL OR transcript_days IS NOT NULL OR tracking_days IS NOT NULL
LIMIT 10000
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


def cutoffs(limits: privacy.PrivacySettings, now: datetime) -> dict[str, datetime]:
    """Each rule's cut-off under ``limits`` (rules whose kind is kept are absent)."""
    out = {}
    for rule in RULES:
        days = getattr(limits, rule.setting)
        if days is not None:
            out[rule.name] = now - timedelta(days=days)
    return out


async def preview(conn: asyncpg.Connection, tenant: TenantContext, now: datetime) -> dict[str, Any]:
    """The dry run (``conn``: a privacy transaction): what the policy would change now, per rule."""
    limits = await privacy.load(conn, tenant.tid, tenant.mid)
    due = cutoffs(limits, now)
    rules: dict[str, Any] = {}
    for rule in RULES:
        cutoff = due.get(rule.name)
        if cutoff is None:
            rules[rule.name] = {"kept": True, "rows": 0, "before": None}
            continue
        count = await conn.fetchval(rule.where, tenant.tid, tenant.mid, cutoff)
        rules[rule.name] = {"kept": False, "rows": count, "before": cutoff}
    return {"now": now, "rules": rules}


class RetentionRunner(PollingLoop):
    """Applies every tenant's retention limits (see the module's doc); one pass per ``idle_sleep_s``."""

    task_name = "retention-runner"

    def __init__(
        self,
        pool: asyncpg.Pool,
        scan_pool: asyncpg.Pool,
        *,
        clock: Clock = utcnow,
        batch_size: int = 2000,
        idle_sleep_s: float = 3600.0,
    ) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.clock = clock
        self.batch_size = batch_size
        self.idle_sleep_s = idle_sleep_s

    async def run_once(self) -> int:
        """One pass over every tenant with a limit; returns how many rows changed."""
        async with self.scan_pool.acquire() as conn:
            rows = await conn.fetch(TENANTS_SQL)
        changed = 0
        for r in rows:
            limits = privacy.PrivacySettings(
                mention_text_days=r["mention_text_days"],
                transcript_days=r["transcript_days"],
                tracking_days=r["tracking_days"],
            )
            changed += await self.apply(TenantContext(tid=r["tid"], mid=r["mid"]), limits)
        return changed

    def more_waiting(self, done: int) -> bool:
        return False  # a pass drains every tenant; the next one is due after the interval

    async def apply(self, tenant: TenantContext, limits: privacy.PrivacySettings) -> int:
        now = self.clock()
        due = cutoffs(limits, now)
        counts: dict[str, int] = {}
        for rule in RULES:
            cutoff = due.get(rule.name)
            if cutoff is None:
                continue
            while True:
                async with privacy_transaction(self.pool, tenant) as conn:
                    if rule.apply.startswith("SELECT"):
                        done = int(await conn.fetchval(rule.apply, tenant.mid, cutoff, self.batch_size))
                    else:
                        status = await conn.execute(rule.apply, tenant.tid, tenant.mid, cutoff, self.batch_size)
                        done = rows_changed(status)
                counts[rule.name] = counts.get(rule.name, 0) + done
                if done < self.batch_size:
                    break
        total = sum(counts.values())
        if total:
            async with privacy_transaction(self.pool, tenant) as conn:
                await audit.record(
                    conn,
                    tenant=tenant,
                    actor="retention",
                    action="retention",
                    entity_type="privacy_settings",
                    entity_id=None,
                    after={"at": now.isoformat(), "changed": counts, "limits": _limits(limits)},
                )
            logger.info("retention for tenant %s: %s", tenant.tid, counts)
        return total


def _limits(limits: privacy.PrivacySettings) -> dict[str, int | None]:
    return {r.setting: getattr(limits, r.setting) for r in RULES}
