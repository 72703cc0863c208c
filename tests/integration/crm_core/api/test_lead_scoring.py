"""Predictive lead scoring over the CRM API: a tenant trains on its own ended leads, the gate decides, and
qualification uses what it decided; engagement after a lead's outcome never reaches its facts."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np

from crm_core.anaf.cui import control_digit
from crm_core.services import lead_models
from infra.db.pool import create_pool
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.settings import Settings
from models.leadscore.facts import LeadFacts
from models.leadscore.simulate import simulate
from models.prospects.intent import PRIOR
from tests.integration.crm_core.api.conftest import Auth
from tests.support.databases import ProvisionedDatabase

URL = "/v1/crm/lead-scoring"
INSERT_LEAD = """
INSERT INTO crm.leads (tid, mid, first_name, last_name, email, phone, company_name, cui, source, status,
    attributes, created_at, updated_at, converted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id
"""


def _cui(i: int) -> str:
    body = str(1_000_000 + i)
    return body + str(control_digit(body))


def _converts(facts: LeadFacts, rng: np.random.Generator) -> bool:
    """This tenant's truth, which the rule gets backwards: imported lists convert, referrals rarely do, and
    companies of about 40 people far more than large ones (the rule ignores size)."""
    size = math.exp(-((math.log(facts.employees) - math.log(40)) ** 2) / 2) if facts.employees else 0.0
    logit = -2.2 + 2.5 * (facts.source == "import") - 1.5 * (facts.source == "referral") + 3.0 * size
    return bool(rng.random() < 1 / (1 + math.exp(-logit)))


async def _seed(admin_dsn: str, tid: str, mid: str, n: int, *, seed: int = 3) -> None:
    """``n`` ended leads, a day apart, from the simulator's facts (every company's size given by the integrator)
    and this tenant's outcomes."""
    rng = np.random.default_rng(seed)
    start = datetime.now(UTC) - timedelta(days=n + 10)
    conn = await asyncpg.connect(admin_dsn)
    try:
        for i, lead in enumerate(simulate(n, seed=seed)):
            f = replace(lead.facts, employees=lead.facts.employees or int(math.exp(rng.normal(3.2, 1.6))) + 1)
            created = start + timedelta(days=i)
            ended = created + timedelta(days=5)
            won = _converts(f, rng)
            attributes = {"employees": f.employees}
            await conn.execute(
                INSERT_LEAD, tid, mid, "Ana", "Pop" if f.full_name else None,
                f"p{i}@{f.email_domain}" if f.email_domain else None, "+40700000000" if f.has_phone else None,
                "Firma SRL" if f.company_named else None, _cui(i) if f.valid_cui else None, f.source,
                "converted" if won else "disqualified", json.dumps(attributes), created, ended,
                ended if won else None,
            )  # fmt: skip
    finally:
        await conn.close()


async def _lead(api: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    created = await api.post("/v1/crm/leads", json={"first_name": "Ion", **fields}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _qualify(api: httpx.AsyncClient, headers: dict[str, str], lead_id: str) -> dict[str, Any]:
    done = await api.post(f"/v1/crm/leads/{lead_id}/qualify", json={}, headers=headers)
    assert done.status_code == 200, done.text
    return dict(done.json())


async def test_a_tenant_without_outcomes_keeps_the_rule_and_is_told_why(api: httpx.AsyncClient, auth: Auth) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    reader, admin = auth(tid=tid), auth(tid=tid, scopes=("crm:admin",))
    empty = await api.get(URL, headers=reader)
    assert empty.status_code == 200
    assert empty.json() | {"history": []} == {
        "current": None, "history": [], "min_outcomes_per_class": 20, "holdout_share": 0.3
    }  # fmt: skip
    assert (await api.post(f"{URL}/train", headers=reader)).status_code == 403
    trained = await api.post(f"{URL}/train", headers=admin)
    assert trained.status_code == 201, trained.text
    body = trained.json()
    assert (body["uses"], body["outcomes"], body["comparison"], body["scope"]) == ("rule", 0, None, "tenant")
    assert body["reason"] == "0 converted and 0 lost leads: the tenant's model needs 20 of each"
    current = (await api.get(URL, headers=reader)).json()["current"]
    assert current == body
    lead = await _lead(api, reader, email="ion@firma.ro", source="referral", company_name="Firma")
    qualified = await _qualify(api, reader, lead)
    assert qualified["score"] == 60 and qualified["status"] == "qualified"
    assert qualified["score_reason"].startswith("business e-mail domain firma.ro (+20)")


async def test_a_tenant_whose_outcomes_the_rule_misjudges_gets_its_own_model(
    api: httpx.AsyncClient, auth: Auth, migrated_database: ProvisionedDatabase, app_pool: asyncpg.Pool
) -> None:
    tid, mid = f"t-{uuid.uuid4().hex[:8]}", "m-1"
    reader, admin = auth(tid=tid, mid=mid), auth(tid=tid, mid=mid, scopes=("crm:admin",), sub="admin-1")
    await _seed(migrated_database.urls.admin, tid, mid, 400)
    trained = await api.post(f"{URL}/train", headers=admin)
    assert trained.status_code == 201, trained.text
    body = trained.json()
    assert body["uses"] == "model", body
    assert body["outcomes"] == 400 and body["trained_by"] == "admin-1"
    comparison = body["comparison"]
    assert comparison["holdout"] == 120 and comparison["difference_low"] > 0
    assert comparison["model_auc"] > comparison["rule_auc"] + 0.1
    assert 0 < body["threshold"] < 1

    # Qualification now uses the model: a 40-person company from an imported list (the rule: 5 points for the
    # source, 25 with the e-mail) qualifies; a referred 5,000-person company (the rule: 60) does not.
    good = await _lead(api, reader, email="a@firma.ro", source="import", attributes={"employees": 40})
    bad = await _lead(api, reader, email="b@corp.ro", source="referral", attributes={"employees": 5000})
    good_q, bad_q = await _qualify(api, reader, good), await _qualify(api, reader, bad)
    assert good_q["status"] == "qualified" and bad_q["status"] == "disqualified", (good_q, bad_q)
    assert good_q["score"] > bad_q["score"]
    assert good_q["score_reason"].startswith(f"tenant model (AUC {comparison['model_auc']:.3f} vs rule")
    assert "strongest: " in good_q["score_reason"] and "source" in good_q["score_reason"]
    conn = await asyncpg.connect(migrated_database.urls.admin)
    try:
        decision = await conn.fetchrow(
            "SELECT model, model_version, output::text, explanation::text FROM ai.decisions "
            "WHERE tid = $1 AND kind = 'lead_score' AND ref_id = $2",
            tid,
            uuid.UUID(good),
        )
    finally:
        await conn.close()
    assert decision is not None and decision["model_version"] == f"lead-scoring:{body['id']}"
    assert json.loads(decision["output"])["qualified"] is True
    assert json.loads(decision["explanation"])["comparison"] == comparison
    async with tenant_transaction(app_pool, TenantContext(tid=tid, mid=mid)) as tx:  # stored as objects, not strings
        kinds = await tx.fetchrow(
            "SELECT jsonb_typeof(comparison) AS comparison, jsonb_typeof(model) AS model "
            "FROM crm.lead_scoring_models WHERE tid = $1",
            tid,
        )
    assert dict(kinds) == {"comparison": "object", "model": "object"}

    # Another tenant sees none of it; the history keeps every decision.
    other = (await api.get(URL, headers=auth(tid=f"t-{uuid.uuid4().hex[:8]}", mid=mid))).json()
    assert other["current"] is None and other["history"] == []
    assert [d["id"] for d in (await api.get(URL, headers=reader)).json()["history"]] == [body["id"]]


async def test_the_retrainer_retrains_scopes_that_trained_before(
    api: httpx.AsyncClient, auth: Auth, migrated_database: ProvisionedDatabase, test_settings: Settings
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    admin = auth(tid=tid, scopes=("crm:admin",))
    first = (await api.post(f"{URL}/train", headers=admin)).json()
    await _seed(migrated_database.urls.admin, tid, "m-1", 120, seed=5)
    pool = await create_pool(migrated_database.urls.app, test_settings, min_size=1, max_size=2)
    scan = await create_pool(migrated_database.urls.worker or "", test_settings, min_size=1, max_size=2)
    try:
        retrainer = lead_models.LeadScoringRetrainer(pool, scan, every_s=0.001, batch=1000)
        assert await retrainer.run_once() >= 1
    finally:
        await pool.close()
        await scan.close()
    history = (await api.get(URL, headers=admin)).json()["history"]
    assert [d["trained_by"] for d in history] == ["schedule", "user-1"]
    assert history[1]["id"] == first["id"] and history[0]["outcomes"] == 120


async def test_engagement_after_a_leads_outcome_is_not_among_its_facts(
    app_pool: asyncpg.Pool, migrated_database: ProvisionedDatabase
) -> None:
    tenant = TenantContext(tid=f"t-{uuid.uuid4().hex[:8]}", mid="m-1")
    won_at = datetime.now(UTC) - timedelta(days=30)
    conn = await asyncpg.connect(migrated_database.urls.admin)
    try:
        key = (tenant.tid, tenant.mid)
        lead = await conn.fetchval(
            "INSERT INTO crm.leads (tid, mid, email, source, status, created_at, converted_at, updated_at) "
            "VALUES ($1, $2, 'ana@firma.ro', 'web', 'converted', $3, $4, $4) RETURNING id",
            *key, won_at - timedelta(days=20), won_at,
        )  # fmt: skip
        prospect = await conn.fetchval(  # her LinkedIn activity: a reply 14 days before the win, one after it
            "INSERT INTO ai.prospects (tid, mid, person_key, email, lead_id, match_status, first_seen, last_seen) "
            "VALUES ($1, $2, 'email:ana@firma.ro', 'ana@firma.ro', $3, 'matched', $4, $4) RETURNING id",
            *key, lead, won_at,
        )  # fmt: skip
        for kind, days in (("message_reply", -14), ("event_signup", 2)):
            await conn.execute(
                "INSERT INTO ai.prospect_signals (tid, mid, prospect_id, event_id, kind, occurred_at) "
                "VALUES ($1, $2, $3, gen_random_uuid(), $4, $5)",
                *key, prospect, kind, won_at + timedelta(days=days),
            )  # fmt: skip
        contact = await conn.fetchval(
            "INSERT INTO crm.contacts (tid, mid, first_name, email) VALUES ($1, $2, 'Ana', 'ana@firma.ro') "
            "RETURNING id",
            *key,
        )
        campaign = await conn.fetchval(
            "INSERT INTO crm.campaigns (tid, mid, name) VALUES ($1, $2, 'Toamna') RETURNING id", *key
        )
        delivery = await conn.fetchval(
            "INSERT INTO crm.email_deliveries (tid, mid, campaign_id, contact_id, email, state) "
            "VALUES ($1, $2, $3, $4, 'ANA@firma.ro', 'sent') RETURNING id",
            *key, campaign, contact,
        )  # fmt: skip
        for kind, days in (("opened", -3), ("clicked", -2), ("opened", 4), ("clicked", 5), ("clicked", 6)):
            await conn.execute(
                "INSERT INTO crm.email_events (tid, mid, delivery_id, campaign_id, contact_id, kind, occurred_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                *key, delivery, campaign, contact, kind, won_at + timedelta(days=days),
            )  # fmt: skip
    finally:
        await conn.close()
    async with tenant_transaction(app_pool, tenant) as tx:
        found = await lead_models.outcomes(tx, tenant)
    assert found.converted == [True]
    facts = found.facts[0]
    assert (facts.emails_opened, facts.emails_clicked) == (1, 1)  # the three events after the win are not counted
    assert facts.days_since_activity is not None and 1.9 < facts.days_since_activity < 2.1
    # intent at the win: the reply, at half weight 14 days on (prior weights); the sign-up after it is not known
    expected = 100 / (1 + math.exp(-(PRIOR.bias + PRIOR.weights["message_reply"] * 0.5)))
    assert facts.intent is not None and abs(facts.intent - expected) < 0.01
