"""Search as a Romanian user types it: any case, with or without diacritics, cedilla forms, near-misses."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.base import Cursor
from crm_core.repositories.contacts import CONTACTS
from crm_core.repositories.leads import LEADS
from infra.db.tenancy import TenantContext, tenant_transaction

NAMES = [
    "ȘTEFĂNEȘTI Agro SRL",
    "Țara Noastră SA",
    "Brașov Trans SRL",
    "Brasovia Foods SRL",
    "Alfa Trans SRL",
    "Ştefan cel Mare Consult",  # legacy cedilla form, as old exports write it
]


@pytest.fixture
def tenant() -> TenantContext:
    return TenantContext(tid="search-tenant", mid=f"m-{uuid.uuid4().hex[:8]}", whid=None)


async def _names(pool: asyncpg.Pool, tenant: TenantContext, q: str, **kwargs: object) -> list[str]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        page = await ACCOUNTS.list(conn, tenant=tenant, q=q, **kwargs)  # type: ignore[arg-type]
    return [a.name for a in page.items]


@pytest.fixture
async def accounts(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        for name in NAMES:
            await ACCOUNTS.insert(conn, tenant=tenant, values={"name": name, "city": "Brașov"})
    other = TenantContext(tid="search-other", mid=tenant.mid, whid=None)
    async with tenant_transaction(app_pool, other) as conn:
        await ACCOUNTS.insert(conn, tenant=other, values={"name": "Ștefănești Agro SRL"})


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("q", "first"),
    [
        ("ștefănești", "ȘTEFĂNEȘTI Agro SRL"),
        ("stefanesti", "ȘTEFĂNEȘTI Agro SRL"),
        ("ŞTEFĂNEŞTI", "ȘTEFĂNEȘTI Agro SRL"),  # cedilla query, comma-below stored
        ("țara noastră", "Țara Noastră SA"),
        ("TARA NOASTRA", "Țara Noastră SA"),
        ("BRAȘOV TRANS", "Brașov Trans SRL"),
        ("ștefan cel mare", "Ştefan cel Mare Consult"),  # comma-below query, cedilla stored
        ("stefnesti", "ȘTEFĂNEȘTI Agro SRL"),  # a letter missing: trigram near-miss
    ],
)
async def test_case_diacritics_and_cedillas_do_not_matter(
    app_pool: asyncpg.Pool, tenant: TenantContext, q: str, first: str
) -> None:
    found = await _names(app_pool, tenant, q)
    assert found and found[0] == first, found


@pytest.mark.usefixtures("accounts")
async def test_ranked_exact_then_prefix_then_word_then_substring(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    # Every word anywhere: "Alfa Trans SRL" is in Brașov too, so it follows the exact name.
    assert await _names(app_pool, tenant, "brasov trans srl") == ["Brașov Trans SRL", "Alfa Trans SRL"]
    assert await _names(app_pool, tenant, "agro stefanesti") == ["ȘTEFĂNEȘTI Agro SRL"]  # any word order
    ranked = await _names(app_pool, tenant, "trans")
    assert ranked[:2] == ["Alfa Trans SRL", "Brașov Trans SRL"] or ranked[:2] == ["Brașov Trans SRL", "Alfa Trans SRL"]
    assert len(ranked) == 2
    brasov = await _names(app_pool, tenant, "brasov")  # every account is in Brașov: name prefixes first
    assert brasov[:2] == ["Brașov Trans SRL", "Brasovia Foods SRL"] and len(brasov) == len(NAMES)
    short = await _names(app_pool, tenant, "br")  # under three letters: name prefixes only
    assert sorted(short) == ["Brasovia Foods SRL", "Brașov Trans SRL"]
    assert await _names(app_pool, tenant, "zzqqxx") == []


@pytest.mark.usefixtures("accounts")
async def test_relevance_pages_without_gaps_or_repeats(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    everything = await _names(app_pool, tenant, "srl")
    seen: list[str] = []
    after: Cursor | None = None
    async with tenant_transaction(app_pool, tenant, readonly=True) as conn:
        while True:
            page = await ACCOUNTS.list(conn, tenant=tenant, q="srl", limit=2, after=after)
            seen += [a.name for a in page.items]
            if page.next_cursor is None:
                break
            after = Cursor.decode(page.next_cursor.encode())  # through the client, as the API does
    assert seen == everything and len(seen) == 4


async def test_people_search_folds_names_and_leads_match_across_cedillas(
    app_pool: asyncpg.Pool, tenant: TenantContext
) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        await CONTACTS.insert(conn, tenant=tenant, values={"first_name": "Ștefan", "last_name": "Țurcanu"})
        await LEADS.insert(conn, tenant=tenant, values={"first_name": "Ştefan", "last_name": "Ţurcanu"})
        contacts = await CONTACTS.list(conn, tenant=tenant, q="stefan turcanu")
        leads = await LEADS.list(conn, tenant=tenant, q="Ștefan Țurcanu")
    assert [c.last_name for c in contacts.items] == ["Țurcanu"]
    assert [lead.last_name for lead in leads.items] == ["Ţurcanu"]


@pytest.mark.slow
async def test_the_trigram_index_serves_search_under_forced_rls(
    app_pool: asyncpg.Pool, admin_pool: asyncpg.Pool, tenant: TenantContext
) -> None:
    """LIKE and word similarity are marked LEAKPROOF (migration 0006), so the application role's plan can use
    the GIN index below the RLS policy instead of filtering every row of the tenant."""
    async with tenant_transaction(app_pool, tenant) as conn:
        await conn.execute(
            "INSERT INTO crm.accounts (tid, mid, name) SELECT $1, $2, 'Firma ' || md5(i::text) || ' SRL' "
            "FROM generate_series(1, 100000) AS i",
            tenant.tid,
            tenant.mid,
        )
    async with admin_pool.acquire() as conn:
        await conn.execute("ANALYZE crm.accounts")
        leakproof = await conn.fetch(
            "SELECT proname FROM pg_proc WHERE proleakproof AND proname = ANY($1::text[])",
            ["textlike", "word_similarity_op", "word_similarity_commutator_op"],
        )
    assert {r["proname"] for r in leakproof} == {"textlike", "word_similarity_op", "word_similarity_commutator_op"}
    async with tenant_transaction(app_pool, tenant, readonly=True) as conn:
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN SELECT id FROM crm.accounts WHERE tid = $1 AND mid = $2 "
                "AND (search_folded LIKE $3 OR search_folded %> $4)",
                tenant.tid,
                tenant.mid,
                "%zzqq%",
                "zzqq",
            )
        )
    assert "accounts_search_trgm_idx" in plan, plan
