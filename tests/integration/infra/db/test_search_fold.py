"""``crm.fold`` (PostgreSQL, migration 0006) and :func:`infra.text.fold` (Python) give the same key."""

from __future__ import annotations

import asyncpg

from infra.text import fold

SAMPLES = [
    "ȘTEFĂNEȘTI Agro SRL",
    "Ştefan Ţurcanu",
    "Țara Noastră SA",
    "  Brașov\tTrans   SRL ",
    "ÎNTREPRINDEREA Â",
    "Müller & Söhne GmbH",
    "Straße",
    "Ørsted Æble",
    "Łódź",
    "Café Élysée",
    "Đorđević",
    "Ελλάδα",
    "Москва",
    "acme-2024_ro%",
]


async def test_sql_and_python_fold_agree(admin_pool: asyncpg.Pool) -> None:
    async with admin_pool.acquire() as conn:
        stored = [await conn.fetchval("SELECT crm.fold($1)", s) for s in SAMPLES]
    assert stored == [fold(s) for s in SAMPLES]
    assert fold("ŞTEFĂNEŞTI") == fold("ștefănești") == "stefanesti"
