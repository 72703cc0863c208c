"""Erasure (the right to be forgotten): an idempotent, resumable job that removes a subject from every store.

A request (``crm.erasure_requests``) names the subject by contact id, e-mail or social handle. The
:class:`ErasureRunner` (one per CRM app; several share the work) finds open requests as ``vettify_worker``
and runs each one's steps in order, every step in its own transaction of the request's tenant (widened to all
of its branches, :func:`crm_core.privacy.subject.privacy_transaction`) together with the record that the step
is done and what it removed. A crash between steps resumes at the next step; a step that ran twice changes
nothing the second time (each one only touches rows still holding personal data).

What goes, step by step (``STEPS``):

* ``resolve`` — the subject's contacts, leads with their addresses, handles, web sessions and sole-trader
  accounts, found once and stored with the request (after the scrub they could not be found again);
* ``mentions`` — mentions they wrote (text, aspects **and the embedding vector**);
* ``calls`` — their call analyses (transcript, segments, vision timeline, embedding) and transcript passages
  with their vectors;
* ``journeys`` — web behaviour events and journey patterns (with vectors) of their sessions or visitor ids;
* ``interactions`` — their recommendation showings, views, clicks and purchases;
* ``decisions`` — AI decision records about them (recommendations shown to them, their calls, a sole
  trader's churn scores; those about their mentions and calls go with them in the steps above);
* ``activities`` — activities and timeline entries naming them;
* ``deliveries`` — the address and provider text of their e-mail deliveries (the delivery and its opens and
  clicks stay, anonymous, so campaign figures do not change);
* ``history`` — the personal parts of their audit entries, consent evidence and e-mail event details
  (append-only tables: through ``crm.erase_history``, which writes a tombstone);
* ``events`` — payloads of already published ``crm.*`` events about them, their mentions or their calls;
* ``sole_traders`` — name, CUI, address, phone and ANAF answer of accounts that are their own business, their churn
  score, and the Redis churn features and cached ANAF answers for them;
* ``people`` — the contact rows become anonymous tombstones (kept so anonymous deliveries and opportunities
  still point somewhere) and their leads lose name, address, phone, company name and CUI (a lead is a
  person's record; the company, if any, stays as an account).

Aggregates stay aggregates (brand sentiment, item popularity, campaign and A/B counts). The suppression list
keeps a suppressed address: an objection to e-mail must still be honoured if the address comes back. Last, in
one transaction: an ``erase`` audit entry carrying only the subject's keyed hash, ``crm.contact.erased`` for
each contact (downstream systems erase too), the identifier dropped from the request and a signed completion
certificate.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crm_core.privacy.subject import PROSPECTS_OF, Subject, SubjectKind, privacy_transaction, prospect_keys, resolve
from crm_core.repositories import audit
from crm_core.services.audit_export import SignatureMismatch, key_id
from infra.db import rows_changed
from infra.db.tenancy import TenantContext
from infra.events import outbox
from infra.loops import PollingLoop
from models.topics.keywords import remove_terms

logger = logging.getLogger(__name__)

CONTACT_ERASED = "crm.contact.erased"
MAX_ATTEMPTS = 5
KEPT = {
    "aggregates": "brand sentiment, item popularity, campaign, A/B and attribution counts (no person in them)",
    "anonymous_rows": "the contact as an anonymous tombstone, its deliveries, e-mail events, consent decisions "
    "and opportunities without personal data, so aggregates still add up",
    "suppressions": "a suppressed e-mail address stays suppressed, so an objection is honoured if it returns",
    "unpublished_events": "crm.* events still waiting to be published go out as written, followed by "
    "crm.contact.erased",
}

OPEN_SQL = "SELECT tid, whid, mid, id FROM crm.erasure_requests WHERE state IN ('pending', 'running') LIMIT 100"
LOCK_SQL = """
SELECT id, subject_kind, subject, subject_hash, state, steps, attempts, created_at, requested_by
FROM crm.erasure_requests WHERE tid = $1 AND mid = $2 AND id = $3
FOR UPDATE
"""
STEP_DONE_SQL = """
UPDATE crm.erasure_requests
SET steps = jsonb_set(steps, ARRAY[$4::text], $5::jsonb), state = 'running', updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3
"""
FAILED_SQL = """
UPDATE crm.erasure_requests
SET attempts = attempts + 1, last_error = $4, updated_at = now(),
    state = CASE WHEN attempts + 1 >= $5 THEN 'failed' ELSE state END
WHERE tid = $1 AND mid = $2 AND id = $3
RETURNING state
"""
DONE_SQL = """
UPDATE crm.erasure_requests
SET state = 'done', subject = NULL, completed_at = $4, certificate = $5, updated_at = now(), last_error = NULL,
    steps = jsonb_set(steps, '{resolve}', $6::jsonb)
WHERE tid = $1 AND mid = $2 AND id = $3
"""

Step = Callable[[asyncpg.Connection, TenantContext, Subject, dict[str, Any]], Awaitable[dict[str, int]]]


async def _scrub_events(conn: asyncpg.Connection, tenant: TenantContext, ids: list[UUID], tombstone: Any) -> int:
    if not ids:
        return 0
    status = await conn.execute(
        "UPDATE crm.outbox SET payload = $4 WHERE tid = $1 AND mid = $2 AND aggregate_id = ANY ($3::uuid[]) "
        "AND published_at IS NOT NULL AND payload <> $4",
        tenant.tid,
        tenant.mid,
        ids,
        tombstone,
    )
    return rows_changed(status)


async def _decisions(conn: asyncpg.Connection, tenant: TenantContext, ref_ids: list[UUID]) -> int:
    """AI decision records about deleted outputs (the record holds a hash of the input and the output)."""
    if not ref_ids:
        return 0
    status = await conn.execute(
        "DELETE FROM ai.decisions WHERE tid = $1 AND mid = $2 AND ref_id = ANY ($3::uuid[])",
        tenant.tid,
        tenant.mid,
        ref_ids,
    )
    return rows_changed(status)


async def _outputs_gone(
    conn: asyncpg.Connection, t: TenantContext, ids: list[UUID], tomb: dict[str, Any], kind: str
) -> dict[str, int]:
    """After deleting model outputs (mentions, calls): their published events' payloads and their decisions."""
    return {
        f"{kind}_events": await _scrub_events(conn, t, ids, tomb),
        f"{kind}_decisions": await _decisions(conn, t, ids),
    }


async def _mentions(conn: asyncpg.Connection, t: TenantContext, s: Subject, tomb: dict[str, Any]) -> dict[str, int]:
    rows = await conn.fetch(
        "DELETE FROM ai.social_insights WHERE tid = $1 AND mid = $2 AND lower(ltrim(author, '@')) = ANY ($3::text[]) "
        "RETURNING id, topic_id, text",
        t.tid,
        t.mid,
        s.handles,
    )
    return {
        "mentions": len(rows),
        "mention_topics": await _topic_words_gone(conn, t, rows),
        **await _outputs_gone(conn, t, [r["id"] for r in rows], tomb, "mention"),
    }


async def _topic_words_gone(conn: asyncpg.Connection, t: TenantContext, mentions: list[asyncpg.Record]) -> int:
    """Take the erased mentions' words out of their topics' label counts (and them out of the topics' sizes);
    a topic left with no mention goes. The centroid keeps its direction: a mean of many, no one's words."""
    texts: dict[UUID, list[str]] = {}
    for row in mentions:
        if row["topic_id"] is not None:
            texts.setdefault(row["topic_id"], []).append(row["text"] or "")
    if not texts:
        return 0
    topics = await conn.fetch(
        "SELECT id, size, terms FROM ai.topics WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[]) FOR UPDATE",
        t.tid,
        t.mid,
        list(texts),
    )
    for topic in topics:
        gone = texts[topic["id"]]
        if topic["size"] <= len(gone):
            await conn.execute(
                "DELETE FROM ai.topics WHERE tid = $1 AND mid = $2 AND id = $3", t.tid, t.mid, topic["id"]
            )
        else:
            await conn.execute(
                "UPDATE ai.topics SET size = $4, terms = $5 WHERE tid = $1 AND mid = $2 AND id = $3",
                t.tid,
                t.mid,
                topic["id"],
                topic["size"] - len(gone),
                remove_terms(topic["terms"], gone),
            )
    return len(topics)


async def _calls(conn: asyncpg.Connection, t: TenantContext, s: Subject, tomb: dict[str, Any]) -> dict[str, int]:
    passages = await conn.fetchval(
        "SELECT count(*) FROM ai.call_passages p JOIN ai.call_analyses a "
        "ON a.tid = p.tid AND a.mid = p.mid AND a.id = p.call_analysis_id "
        "WHERE a.tid = $1 AND a.mid = $2 AND a.contact_id = ANY ($3::uuid[])",
        t.tid,
        t.mid,
        s.contacts,
    )
    rows = await conn.fetch(
        "DELETE FROM ai.call_analyses WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) RETURNING id",
        t.tid,
        t.mid,
        s.contacts,
    )
    gone = await _outputs_gone(conn, t, [r["id"] for r in rows], tomb, "call")
    return {"calls": len(rows), "call_passages": passages, **gone}


async def _journeys(conn: asyncpg.Connection, t: TenantContext, s: Subject, tomb: dict[str, Any]) -> dict[str, int]:
    where = "tid = $1 AND mid = $2 AND (session_id = ANY ($3::text[]) OR visitor_id = ANY ($4::text[]))"
    rows = await conn.fetch(
        f"DELETE FROM ai.behavior_events WHERE {where} RETURNING id", t.tid, t.mid, s.sessions, s.visitors
    )
    patterns = await conn.execute(
        f"DELETE FROM ai.behavior_patterns WHERE {where}", t.tid, t.mid, s.sessions, s.visitors
    )
    ids = [r["id"] for r in rows]
    return {
        "behaviour_events": len(ids),
        "journeys": rows_changed(patterns),
        "journey_events": await _scrub_events(conn, t, ids, tomb),
    }


async def _interactions(conn: asyncpg.Connection, t: TenantContext, s: Subject, _: dict[str, Any]) -> dict[str, int]:
    status = await conn.execute(
        "DELETE FROM ai.item_interactions WHERE tid = $1 AND mid = $2 "
        "AND (contact_id = ANY ($3::uuid[]) OR session_id = ANY ($4::text[]))",
        t.tid,
        t.mid,
        s.contacts,
        s.sessions,
    )
    return {"item_interactions": rows_changed(status)}


async def _prospects(conn: asyncpg.Connection, t: TenantContext, s: Subject, tomb: dict[str, Any]) -> dict[str, int]:
    """The subject's LinkedIn prospects (matched to them, or recognised by their e-mail or profile) and their
    activities; the ``crm.linkedin.prospect.scored`` events that named them keep only the tombstone."""
    rows = await conn.fetch(
        f"DELETE FROM ai.prospects WHERE {PROSPECTS_OF} RETURNING id",
        t.tid,
        t.mid,
        [*s.contacts, *s.leads],
        prospect_keys(s),
        s.emails,
    )
    ids = [r["id"] for r in rows]  # their activities go with them (ON DELETE CASCADE)
    return {"prospects": len(ids), "prospect_events": await _scrub_events(conn, t, ids, tomb)}


async def _person_decisions(
    conn: asyncpg.Connection, t: TenantContext, s: Subject, _: dict[str, Any]
) -> dict[str, int]:
    accounts = [UUID(a["account_id"]) for a in s.sole_traders]
    status = await conn.execute(  # ref_id: a sole trader's churn scores, a lead's model scores
        "DELETE FROM ai.decisions WHERE tid = $1 AND mid = $2 "
        "AND (contact_id = ANY ($3::uuid[]) OR account_id = ANY ($4::uuid[]) OR ref_id = ANY ($5::uuid[]))",
        t.tid,
        t.mid,
        s.contacts,
        accounts,
        [*accounts, *s.leads],
    )
    return {"decisions": rows_changed(status)}


async def _activities(conn: asyncpg.Connection, t: TenantContext, s: Subject, _: dict[str, Any]) -> dict[str, int]:
    status = await conn.execute(
        "DELETE FROM crm.activities WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[])",
        t.tid,
        t.mid,
        s.contacts,
    )
    return {"activities": rows_changed(status)}


async def _deliveries(conn: asyncpg.Connection, t: TenantContext, s: Subject, _: dict[str, Any]) -> dict[str, int]:
    deliveries = await conn.execute(
        "UPDATE crm.email_deliveries SET email = NULL, reason = NULL, updated_at = now() "
        "WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) AND (email IS NOT NULL OR reason IS NOT NULL)",
        t.tid,
        t.mid,
        s.contacts,
    )
    recipients = await conn.execute(
        "UPDATE crm.campaign_recipients SET error = NULL, updated_at = now() "
        "WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) AND error IS NOT NULL",
        t.tid,
        t.mid,
        s.contacts,
    )
    return {"email_deliveries": rows_changed(deliveries), "campaign_recipients": rows_changed(recipients)}


async def _history(conn: asyncpg.Connection, t: TenantContext, s: Subject, tomb: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = await conn.fetchval(
        "SELECT crm.erase_history($1::uuid[], $2::uuid[], $3::jsonb)",
        [*s.contacts, *s.leads, *(UUID(a["account_id"]) for a in s.sole_traders)],
        s.contacts,
        tomb,
    )
    return counts


async def _events(conn: asyncpg.Connection, t: TenantContext, s: Subject, tomb: dict[str, Any]) -> dict[str, int]:
    status = await conn.execute(
        "UPDATE crm.outbox SET payload = $5 WHERE tid = $1 AND mid = $2 AND published_at IS NOT NULL "
        "AND event_type <> $6 AND payload <> $5 "
        "AND (aggregate_id = ANY ($3::uuid[]) OR payload ->> 'contact_id' = ANY ($4::text[]))",
        t.tid,
        t.mid,
        [*s.contacts, *s.leads, *(UUID(a["account_id"]) for a in s.sole_traders)],
        [str(c) for c in s.contacts],
        tomb,
        CONTACT_ERASED,
    )
    return {"crm_events": rows_changed(status)}


async def _sole_traders(conn: asyncpg.Connection, t: TenantContext, s: Subject, _: dict[str, Any]) -> dict[str, int]:
    accounts = [UUID(a["account_id"]) for a in s.sole_traders]
    status = await conn.execute(
        "UPDATE crm.accounts SET name = '[erased sole trader]', anaf_data = NULL, address = NULL, phone = NULL, "
        "cui = NULL, compliance_status = 'unchecked', compliance_checked_at = NULL, domain = NULL, "
        "attributes = '{}'::jsonb, updated_at = now(), version = version + 1 "
        "WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[]) AND name <> '[erased sole trader]'",
        t.tid,
        t.mid,
        accounts,
    )
    scores = await conn.execute(
        "DELETE FROM ai.churn_scores WHERE tid = $1 AND mid = $2 AND account_id = ANY ($3::uuid[])",
        t.tid,
        t.mid,
        accounts,
    )
    return {"sole_trader_accounts": rows_changed(status), "churn_scores": rows_changed(scores)}


async def _people(conn: asyncpg.Connection, t: TenantContext, s: Subject, _: dict[str, Any]) -> dict[str, int]:
    contacts = await conn.execute(
        "UPDATE crm.contacts SET first_name = '[erased]', last_name = '', email = NULL, phone = NULL, title = NULL, "
        "attributes = '{}'::jsonb, consent_marketing = false, deleted_at = coalesce(deleted_at, now()), "
        "updated_at = now(), version = version + 1 "
        "WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[]) "
        "AND (first_name <> '[erased]' OR last_name <> '' OR email IS NOT NULL OR phone IS NOT NULL "
        "OR title IS NOT NULL OR attributes <> '{}'::jsonb)",
        t.tid,
        t.mid,
        s.contacts,
    )
    leads = await conn.execute(
        "UPDATE crm.leads SET first_name = NULL, last_name = NULL, email = NULL, phone = NULL, company_name = NULL, "
        "cui = NULL, attributes = '{}'::jsonb, score_reason = NULL, deleted_at = coalesce(deleted_at, now()), "
        "updated_at = now(), version = version + 1 "
        "WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[]) "
        "AND (first_name IS NOT NULL OR last_name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL "
        "OR company_name IS NOT NULL OR cui IS NOT NULL OR attributes <> '{}'::jsonb)",
        t.tid,
        t.mid,
        s.leads,
    )
    return {"contacts": rows_changed(contacts), "leads": rows_changed(leads)}


STEPS: dict[str, Step] = {
    "mentions": _mentions,
    "calls": _calls,
    "journeys": _journeys,
    "interactions": _interactions,
    "prospects": _prospects,
    "decisions": _person_decisions,
    "activities": _activities,
    "deliveries": _deliveries,
    "history": _history,
    "events": _events,
    "sole_traders": _sole_traders,
    "people": _people,
}
REDIS_STEP = "redis"


def tombstone(subject_hash: str) -> dict[str, Any]:
    return {"erased": True, "subject_hash": subject_hash}


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``document`` with an Ed25519 ``signature`` block over its canonical JSON (sorted keys, no spaces)."""
    return {
        **document,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": key_id(key),
            "value": base64.b64encode(key.sign(_canonical(document))).decode(),
        },
    }


def verify(signed: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Raise :class:`SignatureMismatch` unless ``signed`` is exactly what the key's owner signed."""
    document = {k: v for k, v in signed.items() if k != "signature"}
    block = signed.get("signature") or {}
    if block.get("key_id") != key_id(public_key):
        raise SignatureMismatch("signed with another key")
    try:
        public_key.verify(base64.b64decode(block["value"]), _canonical(document))
    except Exception as exc:  # InvalidSignature, or a malformed value
        raise SignatureMismatch("the document was changed after it was signed") from exc


class ErasureRunner(PollingLoop):
    """Runs every open erasure request of every tenant to its end (see the module's doc)."""

    task_name = "erasure-runner"

    def __init__(
        self,
        pool: asyncpg.Pool,
        scan_pool: asyncpg.Pool,
        *,
        key: Ed25519PrivateKey,
        redis: Any = None,
        idle_sleep_s: float = 1.0,
    ) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.key = key
        self.redis = redis
        self.idle_sleep_s = idle_sleep_s

    async def run_once(self) -> int:
        async with self.scan_pool.acquire() as conn:
            rows = await conn.fetch(OPEN_SQL)
        done = 0
        for r in rows:
            tenant = TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"])
            try:
                done += await self.run(tenant, r["id"])
            except Exception as exc:  # one request's failure is recorded and retried; the others go on
                await self._failed(tenant, r["id"], exc)
        return done

    async def _failed(self, tenant: TenantContext, request_id: UUID, exc: Exception) -> None:
        logger.warning("erasure %s of tenant %s: %r (will retry)", request_id, tenant.tid, exc, exc_info=exc)
        async with privacy_transaction(self.pool, tenant) as conn:
            state = await conn.fetchval(FAILED_SQL, tenant.tid, tenant.mid, request_id, str(exc)[:500], MAX_ATTEMPTS)
        if state == "failed":
            logger.error("erasure %s of tenant %s failed %d times; left failed", request_id, tenant.tid, MAX_ATTEMPTS)

    async def run(self, tenant: TenantContext, request_id: UUID) -> int:
        """Run the request's remaining steps; 1 when it finished now, 0 when it was already done or gone."""
        subject: Subject | None = None
        for name in ("resolve", *STEPS, REDIS_STEP):
            async with privacy_transaction(self.pool, tenant) as conn:
                request = await conn.fetchrow(LOCK_SQL, tenant.tid, tenant.mid, request_id)
                if request is None or request["state"] in ("done", "failed"):
                    return 0
                steps: dict[str, Any] = request["steps"]
                if name in steps:
                    continue
                if name == "resolve":
                    found = await resolve(conn, tenant, request["subject_kind"], request["subject"])
                    result: dict[str, Any] = {"subject": found.to_json()}
                elif name == REDIS_STEP:
                    subject = subject or Subject.from_json(steps["resolve"]["subject"])
                    result = {"redis_keys": await self._redis(tenant, subject)}
                else:
                    subject = subject or Subject.from_json(steps["resolve"]["subject"])
                    result = await STEPS[name](conn, tenant, subject, tombstone(request["subject_hash"]))
                await conn.execute(STEP_DONE_SQL, tenant.tid, tenant.mid, request_id, name, result)
        async with privacy_transaction(self.pool, tenant) as conn:
            request = await conn.fetchrow(LOCK_SQL, tenant.tid, tenant.mid, request_id)
            if request is None or request["state"] == "done":
                return 0
            await self._finish(conn, tenant, request)
        return 1

    async def _redis(self, tenant: TenantContext, subject: Subject) -> int:
        """Churn features and cached ANAF answers of the subject's sole-trader accounts (outside a transaction:
        deleting a key twice is harmless)."""
        if self.redis is None or not subject.sole_traders:
            return 0
        from crm_core.anaf.client import CACHE_PREFIX
        from models.churn.store import PREFIX, account_key

        patterns = []
        for account in subject.sole_traders:
            patterns.append(f"{PREFIX}{account_key(tenant.tid, tenant.mid, account['account_id'])}:*")
            if account.get("cui"):
                patterns.append(f"{CACHE_PREFIX}{account['cui']}:*")
        removed = 0
        for pattern in patterns:
            keys = [k async for k in self.redis.scan_iter(match=pattern, count=500)]
            if keys:
                removed += int(await self.redis.delete(*keys))
        return removed

    async def _finish(self, conn: asyncpg.Connection, tenant: TenantContext, request: asyncpg.Record) -> None:
        steps: dict[str, Any] = request["steps"]
        subject = Subject.from_json(steps["resolve"]["subject"])
        removed: dict[str, int] = {}
        for name, result in steps.items():
            if name != "resolve":
                removed.update(result)
        completed_at = datetime.now(UTC)
        certificate = sign(
            {
                "request_id": str(request["id"]),
                "tid": tenant.tid,
                "mid": tenant.mid,
                "subject_kind": request["subject_kind"],
                "subject_hash": request["subject_hash"],
                "requested_at": request["created_at"].isoformat(),
                "requested_by": request["requested_by"],
                "completed_at": completed_at.isoformat(),
                "contacts": len(subject.contacts),
                "leads": len(subject.leads),
                "removed": removed,
                "kept": KEPT,
            },
            self.key,
        )
        await audit.record(
            conn,
            tenant=tenant,
            actor=request["requested_by"],
            action="erase",
            entity_type="privacy_subject",
            entity_id=request["id"],
            after={"subject_hash": request["subject_hash"], "removed": removed},
        )
        events = [
            outbox.NewEvent(
                event_type=CONTACT_ERASED,
                aggregate_type="contact",
                aggregate_id=contact,
                payload={
                    "contact_id": str(contact),
                    "subject_hash": request["subject_hash"],
                    "erasure_request_id": str(request["id"]),
                    "erased_at": completed_at.isoformat(),
                },
            )
            for contact in subject.contacts
        ]
        if events:
            await outbox.enqueue_many(conn, tenant=tenant, events=events)
        found = {"found": {k: len(v) for k, v in subject.to_json().items()}}  # who it was goes; how many stays
        await conn.execute(DONE_SQL, tenant.tid, tenant.mid, request["id"], completed_at, certificate, found)


def scrubbed_request(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A request as the API shows it: no identifier, the steps' counts without the resolved subject."""
    steps = dict(row["steps"])
    steps.pop("resolve", None)  # who the subject was: never shown
    return {
        "id": row["id"],
        "state": row["state"],
        "subject_kind": row["subject_kind"],
        "subject_hash": row["subject_hash"],
        "created_at": row["created_at"],
        "completed_at": row["completed_at"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "steps_done": [name for name in ("resolve", *STEPS, REDIS_STEP) if name in row["steps"]],
        "removed": {k: v for result in steps.values() for k, v in result.items()},
        "certificate": row["certificate"],
    }


async def request_erasure(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    *,
    kind: SubjectKind,
    value: str,
    subject_hash: str,
    requested_by: str,
) -> tuple[dict[str, Any], bool]:
    """Record a request (or return the open one for the same subject); ``True`` when it is new."""
    existing = await conn.fetchrow(
        "SELECT * FROM crm.erasure_requests WHERE tid = $1 AND mid = $2 AND subject_hash = $3 AND state <> 'done' "
        "ORDER BY created_at LIMIT 1",
        tenant.tid,
        tenant.mid,
        subject_hash,
    )
    if existing is not None:
        return scrubbed_request(existing), False
    row = await conn.fetchrow(
        "INSERT INTO crm.erasure_requests (tid, mid, subject_kind, subject, subject_hash, requested_by) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        tenant.tid,
        tenant.mid,
        kind,
        value,
        subject_hash,
        requested_by,
    )
    await audit.record(
        conn,
        tenant=tenant,
        actor=requested_by,
        action="erasure_requested",
        entity_type="privacy_subject",
        entity_id=row["id"],
        after={"subject_kind": kind, "subject_hash": subject_hash},
    )
    return scrubbed_request(row), True


async def get_request(conn: asyncpg.Connection, tenant: TenantContext, request_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT * FROM crm.erasure_requests WHERE tid = $1 AND mid = $2 AND id = $3", tenant.tid, tenant.mid, request_id
    )
    return None if row is None else scrubbed_request(row)
