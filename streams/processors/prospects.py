"""LinkedIn activity → prospects matched to the CRM, intent scores and ``crm.linkedin.prospect.scored``.

``social.linkedin.signal`` (a profile view, a reaction or comment on a post, a company follow, a job change, a
reply to a message, an event sign-up) is stored under its prospect, recognised across activities and matched to
a contact or lead (:mod:`streams.prospects`). An activity for a person the CRM does not know yet is stored all
the same and counts once they are matched. The prospect is then scored from all its recent activities with the
tenant's weights; crossing :data:`streams.prospects.THRESHOLD` or rising by
:data:`streams.prospects.SHARP_RISE` points publishes ``crm.linkedin.prospect.scored``, which names the
prospect's contact, lead and account when matched.

Events of one prospect commit in arrival order (the ordering key), so two replicas never score one prospect
from different histories; the score itself does not depend on the order activities arrive in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from infra.events.envelope import Envelope
from streams import prospects, store
from streams.processors.base import Processor
from streams.schemas import LinkedInSignal, ProspectScored


class ProspectProcessor(Processor[LinkedInSignal, None]):
    def ordering_key(self, event: Envelope, payload: LinkedInSignal) -> tuple[str, ...]:
        return (event.tid, event.mid, "prospect", payload.prospect.person().key() or str(event.id))

    def account_of(self, payload: LinkedInSignal) -> UUID | None:
        return None  # the match finds the account; the payload names none

    async def analyze(self, event: Envelope, payload: LinkedInSignal) -> None:
        return None  # nothing for a model replica: matching and scoring read the tenant's own rows

    async def write(self, conn: asyncpg.Connection, event: Envelope, payload: LinkedInSignal, _: None) -> None:
        tenant = store.tenant_of(event)
        at = payload.occurred_at or event.occurred_at
        headline = payload.prospect.headline
        if payload.kind == "job_change" and payload.new_title:
            headline = f"{payload.new_title} at {payload.new_company}"
        person = payload.prospect.person()
        key = person.key()  # who they are: recognised as the payload shows them
        if payload.kind == "job_change":  # where they work from now on, stored for display and matching
            person = replace(person, company=payload.new_company)
        row = await prospects.record(
            conn, tenant, person=person, key=key, headline=headline, event_id=event.id, kind=payload.kind,
            user=payload.user, at=at, detail=payload.details(),
        )  # fmt: skip
        weights = await prospects.model(conn, tenant)
        now = max(datetime.now(UTC), at)
        current = await conn.fetchrow(
            "SELECT * FROM ai.prospects WHERE tid = $1 AND mid = $2 AND id = $3 FOR UPDATE",
            event.tid, event.mid, row["id"],
        )  # fmt: skip
        assert current is not None
        rescored = await prospects.rescore(conn, tenant, current, weights, now)
        reason = prospects.publish_reason(rescored)
        if reason is None:
            return
        scored = ProspectScored(
            prospect_id=current["id"],
            contact_id=current["contact_id"],
            lead_id=current["lead_id"],
            account_id=current["account_id"],
            name=current["name"],
            score=round(rescored.score, 2),
            previous_score=round(rescored.previous, 2),
            reason=reason,
            threshold=prospects.THRESHOLD,
            model=weights.source,
            top_signals=rescored.top,
        )
        await store.publish(
            conn, event, "crm.linkedin.prospect.scored", scored, aggregate_type="prospect", aggregate_id=current["id"]
        )
        await prospects.published(conn, tenant, current["id"], rescored.score)
