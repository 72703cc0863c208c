"""The content catalogue, the interactions people have with it, and recommendations from both.

Items are embedded (title and description, the engine's sentence encoder) when they are stored; an item
whose text did not change keeps its vector. Interactions (view, click, purchase, and ``recommended`` for
every item a recommendation showed) keep per-item counters current in the same transaction.

A recommendation for a contact or a session takes three candidate sets from PostgreSQL and blends them with
:func:`models.marketing.recommend.blend`, the mix the MovieLens evaluation chose:

* **collaborative** — the precomputed neighbours (``ai.item_neighbours``: the model's implicit-feedback
  item-item cosine, top 50 per item, refreshed from the interactions by :func:`refresh_neighbours`) of the
  person's recent items, weighted by recency;
* **content** — the nearest items (HNSW, cosine) to the recency-weighted mean of the person's recent items;
* **popularity** — the items most people interacted with;

then filters (seen, out of stock, excluded, kinds), optional Thompson exploration over each item's clicks per
showing, and records the showing. A contact who withdrew ``profiling`` consent (``crm.consent_history``) gets
the non-personal list (popularity only). ``crm.content.personalized`` is published for contacts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
import numpy as np
from pydantic import BaseModel, Field, model_validator

from crm_core.privacy import consent
from infra import decisions
from infra.db.pool import stored_vector
from infra.db.tenancy import TenantContext
from infra.errors import InvalidInput
from infra.events import outbox
from models.marketing.recommend import Recommender, Weights, blend, recency_weights, top_k, unit
from streams.insights import _tune_search

Kind = Literal["article", "offer", "product", "email_block", "other"]
CANDIDATES = 200
HISTORY = 50
MODEL = "hybrid-v1"


class CatalogItem(BaseModel):
    external_id: str = Field(min_length=1, max_length=200, description="the item's id in your system")
    kind: Kind = "other"
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    url: str | None = Field(default=None, max_length=2000)
    in_stock: bool = True
    attributes: dict[str, Any] = Field(default_factory=dict)

    def text(self) -> str:
        return f"{self.title}. {self.description}" if self.description else self.title


class CatalogUpsert(BaseModel):
    items: list[CatalogItem] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _distinct(self) -> CatalogUpsert:
        ids = [i.external_id for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("an external_id appears twice in one request")
        return self


class Interaction(BaseModel):
    item: str = Field(min_length=1, max_length=200, description="the item's external_id")
    contact_id: UUID | None = None
    session_id: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Literal["view", "click", "purchase"]
    occurred_at: datetime | None = None

    @model_validator(mode="after")
    def _who(self) -> Interaction:
        if self.contact_id is None and self.session_id is None:
            raise ValueError("name the contact_id or the session_id")
        return self


class InteractionBatch(BaseModel):
    interactions: list[Interaction] = Field(min_length=1, max_length=1000)


class RecommendationRequest(BaseModel):
    contact_id: UUID | None = None
    session_id: str | None = Field(default=None, min_length=1, max_length=200)
    k: int = Field(default=10, ge=1, le=100)
    kinds: list[Kind] | None = Field(default=None, description="only these kinds of items")
    exclude: list[str] = Field(default_factory=list, max_length=1000, description="external ids never to return")
    exclude_seen: bool = True
    in_stock_only: bool = True
    explore: float = Field(default=0.0, ge=0, le=1, description="weight of Thompson exploration (0: none)")
    record: bool = Field(default=True, description="record the showing (it feeds exploration's posteriors)")

    @model_validator(mode="after")
    def _who(self) -> RecommendationRequest:
        if self.contact_id is not None and self.session_id is not None:
            raise ValueError("give the contact_id or the session_id, not both")
        return self

    @property
    def person(self) -> str | None:
        if self.contact_id is not None:
            return f"c:{self.contact_id}"
        return f"s:{self.session_id}" if self.session_id is not None else None


class Recommended(BaseModel):
    external_id: str
    kind: str
    title: str
    url: str | None
    score: float
    signals: dict[str, float] = Field(description="collaborative, content and popularity, each in [0, 1]")


class Recommendations(BaseModel):
    items: list[Recommended]
    personalised: bool
    reason: str
    model: str = MODEL
    decision_id: UUID | None = Field(
        default=None,
        description="the decision record of this list (recorded showings only): GET /v1/insights/decisions/{id}",
    )


UPSERT_SQL = """
INSERT INTO ai.catalog_items (tid, whid, mid, external_id, kind, title, description, url, in_stock, attributes,
    embedding, model_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (tid, mid, external_id) DO UPDATE SET
    kind = EXCLUDED.kind, title = EXCLUDED.title, description = EXCLUDED.description, url = EXCLUDED.url,
    in_stock = EXCLUDED.in_stock, attributes = EXCLUDED.attributes, updated_at = now(),
    embedding = COALESCE(EXCLUDED.embedding, ai.catalog_items.embedding),
    model_version = COALESCE(EXCLUDED.model_version, ai.catalog_items.model_version)
"""

UNCHANGED_SQL = """
SELECT external_id FROM ai.catalog_items
WHERE tid = $1 AND mid = $2 AND external_id = ANY($3::text[]) AND embedding IS NOT NULL
  AND (title || COALESCE('. ' || description, '')) = ANY($4::text[])
"""

ITEM_IDS_SQL = "SELECT external_id, id FROM ai.catalog_items WHERE tid = $1 AND mid = $2 AND external_id = ANY($3)"

INSERT_INTERACTIONS_SQL = """
INSERT INTO ai.item_interactions (tid, whid, mid, item_id, contact_id, session_id, kind, occurred_at)
SELECT $1, $2, $3, r.item_id, r.contact_id, r.session_id, r.kind, COALESCE(r.occurred_at, now())
FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::timestamptz[])
    AS r(item_id, contact_id, session_id, kind, occurred_at)
"""

# Counters (run before the batch is inserted): a person's first interaction with an item adds one to its reach;
# showings and clicks add up.
COUNTERS_SQL = """
WITH batch AS (
    SELECT r.item_id, r.person, r.kind FROM unnest($4::uuid[], $5::text[], $6::text[]) AS r(item_id, person, kind)
), reach AS (
    SELECT b.item_id, count(DISTINCT b.person) AS people FROM batch b
    WHERE b.kind <> 'recommended' AND NOT EXISTS (
        SELECT 1 FROM ai.item_interactions i
        WHERE i.tid = $1 AND i.mid = $3 AND i.item_id = b.item_id AND i.person = b.person
          AND i.kind <> 'recommended')
    GROUP BY b.item_id
), tally AS (
    SELECT t.item_id, COALESCE(max(r.people), 0) AS people,
           count(*) FILTER (WHERE t.kind = 'recommended') AS shown, count(*) FILTER (WHERE t.kind = 'click') AS clicks
    FROM batch t LEFT JOIN reach r ON r.item_id = t.item_id GROUP BY t.item_id
)
INSERT INTO ai.item_stats (tid, whid, mid, item_id, people, shown, clicks)
SELECT $1, $2, $3, item_id, people, shown, clicks FROM tally
ON CONFLICT (tid, mid, item_id) DO UPDATE SET
    people = ai.item_stats.people + EXCLUDED.people, shown = ai.item_stats.shown + EXCLUDED.shown,
    clicks = ai.item_stats.clicks + EXCLUDED.clicks
"""

HISTORY_SQL = """
SELECT i.item_id, c.embedding FROM ai.item_interactions i
JOIN ai.catalog_items c ON c.tid = i.tid AND c.mid = i.mid AND c.id = i.item_id
WHERE i.tid = $1 AND i.mid = $2 AND i.person = $3 AND i.kind <> 'recommended'
ORDER BY i.occurred_at DESC
LIMIT $4
"""

COLLABORATIVE_SQL = """
SELECT n.neighbour_id, sum(n.score * h.weight) AS score
FROM unnest($3::uuid[], $4::float8[]) AS h(item_id, weight)
JOIN ai.item_neighbours n ON n.tid = $1 AND n.mid = $2 AND n.item_id = h.item_id
GROUP BY n.neighbour_id
ORDER BY score DESC
LIMIT $5
"""

PAIRS_SQL = "SELECT person, item_id FROM ai.item_interactions WHERE tid = $1 AND mid = $2 AND kind <> 'recommended'"

REPLACE_NEIGHBOURS_SQL = """
INSERT INTO ai.item_neighbours (tid, whid, mid, item_id, neighbour_id, score)
SELECT $1, $2, $3, r.item_id, r.neighbour_id, r.score
FROM unnest($4::uuid[], $5::uuid[], $6::float4[]) AS r(item_id, neighbour_id, score)
"""

CONTENT_SQL = """
SELECT id, 1 - (embedding <=> $3) AS score FROM ai.catalog_items
WHERE tid = $1 AND mid = $2 AND embedding IS NOT NULL
ORDER BY embedding <=> $3
LIMIT $4
"""

POPULAR_SQL = """
SELECT item_id, people FROM ai.item_stats WHERE tid = $1 AND mid = $2 ORDER BY people DESC LIMIT $3
"""

CANDIDATES_SQL = """
SELECT c.id, c.external_id, c.kind, c.title, c.url, c.in_stock,
       COALESCE(s.people, 0) AS people, COALESCE(s.shown, 0) AS shown, COALESCE(s.clicks, 0) AS clicks
FROM ai.catalog_items c
LEFT JOIN ai.item_stats s ON s.tid = c.tid AND s.mid = c.mid AND s.item_id = c.id
WHERE c.tid = $1 AND c.mid = $2 AND c.id = ANY($3::uuid[])
"""


async def unchanged(conn: asyncpg.Connection, tenant: TenantContext, items: list[CatalogItem]) -> set[str]:
    """Items already stored with the same text and a vector: they need no new embedding."""
    rows = await conn.fetch(
        UNCHANGED_SQL, tenant.tid, tenant.mid, [i.external_id for i in items], [i.text() for i in items]
    )
    return {r["external_id"] for r in rows}


async def store_items(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    items: list[CatalogItem],
    vectors: dict[str, list[float]],
    model_version: str | None,
) -> None:
    await conn.executemany(
        UPSERT_SQL,
        [
            (
                tenant.tid,
                tenant.whid,
                tenant.mid,
                i.external_id,
                i.kind,
                i.title,
                i.description,
                i.url,
                i.in_stock,
                i.attributes,
                np.asarray(vectors[i.external_id], dtype=np.float32) if i.external_id in vectors else None,
                model_version if i.external_id in vectors else None,
            )
            for i in items
        ],
    )


async def _record(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    rows: Sequence[tuple[UUID, UUID | None, str | None, str, datetime | None]],
) -> None:
    item_ids = [r[0] for r in rows]
    people = [f"c:{r[1]}" if r[1] is not None else f"s:{r[2]}" for r in rows]
    await conn.execute(COUNTERS_SQL, tenant.tid, tenant.whid, tenant.mid, item_ids, people, [r[3] for r in rows])
    await conn.execute(
        INSERT_INTERACTIONS_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        item_ids,
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )


async def add_interactions(conn: asyncpg.Connection, tenant: TenantContext, batch: InteractionBatch) -> int:
    names = sorted({i.item for i in batch.interactions})
    ids = {r["external_id"]: r["id"] for r in await conn.fetch(ITEM_IDS_SQL, tenant.tid, tenant.mid, names)}
    unknown = [n for n in names if n not in ids]
    if unknown:
        raise InvalidInput(f"items not in the catalogue: {unknown[:20]}", unknown_items=unknown[:100])
    rows = [(ids[i.item], i.contact_id, i.session_id, i.kind, i.occurred_at) for i in batch.interactions]
    await _record(conn, tenant, rows)
    return len(rows)


def _neighbour_rows(pairs: list[tuple[str, UUID]], neighbours: int) -> tuple[list[UUID], list[UUID], list[float]]:
    """The model's item-item cosine on these (person, item) interactions: each item's top ``neighbours``."""
    items = sorted({item for _, item in pairs})
    people = {p: n for n, p in enumerate(sorted({person for person, _ in pairs}))}
    index = {item: n for n, item in enumerate(items)}
    model = Recommender(items=len(items), neighbours=neighbours).fit(
        np.array([people[p] for p, _ in pairs], dtype=np.int64), np.array([index[i] for _, i in pairs], dtype=np.int64)
    )
    assert model.similarity is not None
    matrix = model.similarity.tocoo()
    keep = matrix.data > 0
    return (
        [items[r] for r in matrix.row[keep]],
        [items[c] for c in matrix.col[keep]],
        [float(v) for v in matrix.data[keep]],
    )


async def refresh_neighbours(conn: asyncpg.Connection, tenant: TenantContext, neighbours: int = 50) -> int:
    """Recompute the tenant's item neighbours from all its interactions (one transaction); returns the pairs."""
    pairs = [(r["person"], r["item_id"]) for r in await conn.fetch(PAIRS_SQL, tenant.tid, tenant.mid)]
    await conn.execute("DELETE FROM ai.item_neighbours WHERE tid = $1 AND mid = $2", tenant.tid, tenant.mid)
    if not pairs:
        return 0
    items, others, scores = await asyncio.to_thread(_neighbour_rows, pairs, neighbours)
    await conn.execute(REPLACE_NEIGHBOURS_SQL, tenant.tid, tenant.whid, tenant.mid, items, others, scores)
    return len(items)


async def _profiling_allowed(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID | None) -> bool:
    if contact_id is None:
        return True
    return await consent.latest(conn, tenant, contact_id, "profiling") is not False


async def _candidates(
    conn: asyncpg.Connection, key: tuple[str, str], history: list[asyncpg.Record]
) -> dict[UUID, list[float]]:
    """Candidate items with their raw signals [collaborative, content, popularity] (0 where a query missed)."""
    signals: dict[UUID, list[float]] = {}

    def add(rows: list[asyncpg.Record], column: int, value: str) -> None:
        for r in rows:
            signals.setdefault(r[0], [0.0, 0.0, 0.0])[column] = float(r[value])

    add(await conn.fetch(POPULAR_SQL, *key, CANDIDATES), 2, "people")
    if not history:
        return signals
    recency = recency_weights(len(history))[::-1]  # the model's weights; history is newest first
    weight_of: dict[UUID, float] = {}
    for r, weight in zip(history, recency, strict=True):  # summed per item, as the model's profile is
        weight_of[r["item_id"]] = weight_of.get(r["item_id"], 0.0) + float(weight)
    items = list(weight_of)
    add(await conn.fetch(COLLABORATIVE_SQL, *key, items, [weight_of[i] for i in items], CANDIDATES), 0, "score")
    vectors = [(n, r["embedding"]) for n, r in enumerate(history) if r["embedding"] is not None]
    if vectors:
        kept = recency[[n for n, _ in vectors]]
        profile = (kept[:, None] * np.stack([stored_vector(v) for _, v in vectors])).sum(axis=0)
        profile = profile / max(float(np.linalg.norm(profile)), 1e-12)
        await _tune_search(conn)
        add(await conn.fetch(CONTENT_SQL, *key, profile.astype(np.float32), CANDIDATES), 1, "score")
    return signals


async def recommend(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    request: RecommendationRequest,
    *,
    weights: Weights | None = None,
    rng: np.random.Generator | None = None,
) -> Recommendations:
    key = (tenant.tid, tenant.mid)
    person = request.person
    personal = await _profiling_allowed(conn, tenant, request.contact_id)
    history = (
        await conn.fetch(HISTORY_SQL, *key, person, HISTORY) if person is not None and personal else []
    )  # newest first
    seen = list(dict.fromkeys(r["item_id"] for r in history))
    signals = await _candidates(conn, key, history)
    if not signals:
        return Recommendations(items=[], personalised=False, reason="the catalogue is empty: PUT /v1/catalog/items")
    if request.exclude_seen:  # out before the signals are scaled: a seen item would set the content scale
        for item in seen:
            signals.pop(item, None)
    ids = list(signals)
    rows = {r["id"]: r for r in await conn.fetch(CANDIDATES_SQL, *key, ids)}
    ids = [i for i in ids if i in rows]
    if not ids:
        return Recommendations(items=[], personalised=False, reason="every item in the catalogue was seen already")
    matrix = np.array([signals[i] for i in ids], dtype=float).T
    if matrix.shape[1] > 1:
        matrix = np.vstack([unit(row) for row in matrix])
    scores = blend(
        matrix,
        weights or Weights(),
        explore=request.explore,
        clicks=np.array([rows[i]["clicks"] for i in ids], dtype=float),
        shown=np.array([rows[i]["shown"] for i in ids], dtype=float),
        rng=rng,
    )
    excluded = set(request.exclude)
    available = np.array(
        [
            (rows[i]["in_stock"] or not request.in_stock_only)
            and (request.kinds is None or rows[i]["kind"] in request.kinds)
            and rows[i]["external_id"] not in excluded
            for i in ids
        ]
    )
    position = {item: n for n, item in enumerate(ids)}
    history_idx = [position[i] for i in seen if i in position]
    chosen = top_k(scores, request.k, history_idx, available=available, exclude_seen=request.exclude_seen)
    items = [
        Recommended(
            external_id=rows[ids[n]]["external_id"],
            kind=rows[ids[n]]["kind"],
            title=rows[ids[n]]["title"],
            url=rows[ids[n]]["url"],
            score=round(float(scores[n]), 6),
            signals={
                name: round(float(matrix[j, n]), 4) for j, name in enumerate(("collaborative", "content", "popularity"))
            },
        )
        for n in chosen
    ]
    if not personal:
        reason = "the contact withdrew profiling consent: the most popular items, nothing personal"
    elif not seen:
        reason = "no interactions yet for this person: the most popular items"
    else:
        reason = f"blended from {len(seen)} recent interactions"
    decision_id = None
    if person is not None and request.record and chosen:
        await _record(
            conn,
            tenant,
            [(ids[n], request.contact_id, request.session_id, "recommended", None) for n in chosen],
        )
        decision_id = await decisions.record(
            conn,
            tenant,
            kind="recommendation",
            ref_id=uuid4(),
            model="recommendations",
            model_version=MODEL,
            input_digest=decisions.input_hash({"person": person, "seen": [str(i) for i in seen], "k": request.k}),
            output={"items": [i.external_id for i in items]},
            explanation={
                "reason": reason,
                "personalised": personal and bool(seen),
                "signals": {i.external_id: i.signals for i in items},
            },
            contact_id=request.contact_id,
        )
    if request.contact_id is not None and chosen:
        await outbox.enqueue(
            conn,
            tenant=tenant,
            event_type="crm.content.personalized",
            aggregate_type="contact",
            aggregate_id=request.contact_id,
            payload={
                "contact_id": str(request.contact_id),
                "items": [i.external_id for i in items],
                "personalised": personal and bool(seen),
                "model": MODEL,
            },
        )
    return Recommendations(items=items, personalised=personal and bool(seen), reason=reason, decision_id=decision_id)


async def email_recommendations(
    conn: asyncpg.Connection, tenant: TenantContext, contact_ids: list[UUID], k: int
) -> dict[UUID, list[dict[str, Any]]]:
    """The delivery worker's personaliser (:mod:`crm_core.delivery.personalise`): ``k`` items per recipient,
    recorded as shown (Thompson's posteriors) with ``crm.content.personalized``, as :func:`recommend` does for
    any caller; a contact without profiling consent gets the popular items."""
    out: dict[UUID, list[dict[str, Any]]] = {}
    for contact_id in contact_ids:
        found = await recommend(conn, tenant, RecommendationRequest(contact_id=contact_id, k=k))
        out[contact_id] = [
            {"title": i.title, "url": i.url, "kind": i.kind, "external_id": i.external_id} for i in found.items
        ]
    return out
