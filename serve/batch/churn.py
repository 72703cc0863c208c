"""``vettify batch score-churn``: re-score every live account of a tenant from the churn feature store.

The reader builds each account's features from its orders in Redis with the same function the stream's
order processor and training use (:class:`models.churn.store.RedisFeatureStore`); an account with no order
on record is *skipped* (churn needs a purchase), not bad. The model actors score a page at once. The
writer, per account inside the page's tenant transaction: locks the previous score, leaves it alone when
probability, bucket and model version are unchanged (so a re-run writes nothing), else upserts
``ai.churn_scores``, records the decision (``ai.decisions``) and, when the risk bucket changed, publishes
``crm.churn.scored`` through the outbox — what the stream does for one account, for all of them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import UUID

import numpy as np

from infra.db.tenancy import TenantContext, tenant_transaction
from infra.events import outbox
from serve.batch import runs
from serve.batch.pipeline import Batch, TenantStage, by_page, page_rows, rows_batch, summary_batch

ACCOUNT_FILTER = "tid = $1 AND mid = $2 AND whid IS NOT DISTINCT FROM $3 AND deleted_at IS NULL"
KEYS_SQL = f"SELECT id::text FROM crm.accounts WHERE {ACCOUNT_FILTER} ORDER BY id"
FIRST_PAGE_SQL = f"SELECT id::text FROM crm.accounts WHERE {ACCOUNT_FILTER} AND id <= $4::uuid ORDER BY id"
PAGE_SQL = f"SELECT id::text FROM crm.accounts WHERE {ACCOUNT_FILTER} AND id > $4::uuid AND id <= $5::uuid ORDER BY id"
PREVIOUS_SQL = (
    "SELECT probability, bucket, model_version FROM ai.churn_scores "
    "WHERE tid = $1 AND mid = $2 AND account_id = $3 FOR UPDATE"
)
NO_HISTORY = "no order on record"


async def account_keys(conn: Any, tenant: TenantContext) -> list[str]:
    return [r[0] for r in await conn.fetch(KEYS_SQL, tenant.tid, tenant.mid, tenant.whid)]


class Reader(TenantStage):
    def __init__(self, dsn: str, tenant: dict[str, Any], redis_url: str, as_of: str) -> None:
        super().__init__(dsn, tenant)
        import redis.asyncio as aioredis

        from models.churn.store import RedisFeatureStore

        self.features = RedisFeatureStore(aioredis.from_url(redis_url))
        self.as_of = date.fromisoformat(as_of)

    def __call__(self, pages: Batch) -> Batch:
        (page,) = list(page_rows(pages))
        return self.run(self._read(page))

    async def _read(self, page: dict[str, Any]) -> Batch:
        from models.churn.store import account_key
        from models.errors import InvalidInput

        t = self.tenant
        async with tenant_transaction(self.pool, t, readonly=True) as conn:
            if page["lo"] is None:
                found = await conn.fetch(FIRST_PAGE_SQL, t.tid, t.mid, t.whid, page["hi"])
            else:
                found = await conn.fetch(PAGE_SQL, t.tid, t.mid, t.whid, page["lo"], page["hi"])
        ids = [r[0] for r in found]
        rows = []
        for account_id in ids:
            features, skip = "", ""
            try:
                found = await self.features.features(account_key(t.tid, t.mid, account_id), self.as_of)
                features = json.dumps(found)
            except InvalidInput as exc:
                skip = NO_HISTORY if "no orders" in str(exc) else str(exc)
            rows.append({"key": account_id, "features": features, "skip": skip})
        return rows_batch(page["page"], rows, {"key": "", "features": "", "skip": ""})


class Model:
    """The churn model in an actor (trained on first use like the Churn deployment's)."""

    def __init__(self, artifacts_dir: str) -> None:
        from pathlib import Path

        from models.churn.train import ensure_artifact
        from models.registry import ModelOptions, registry

        folder = ensure_artifact(Path(artifacts_dir))
        self.model = registry.load("churn", ModelOptions(model_path=folder))
        self.version = f"{registry.spec('churn').version}:{folder.name}"

    def __call__(self, batch: Batch) -> Batch:
        n = len(batch["key"])
        scored = [i for i in range(n) if bool(batch["live"][i]) and not batch["skip"][i]]
        probability = np.full(n, np.nan)
        bucket = np.full(n, "", dtype=object)
        explained = np.full(n, "", dtype=object)
        if scored:
            scores = self.model.score_batch([json.loads(str(batch["features"][i])) for i in scored])
            for i, score in zip(scored, scores, strict=True):
                probability[i], bucket[i] = score.probability, score.bucket
                explained[i] = json.dumps([asdict(c) for c in score.top_contributions])
        batch.update(probability=probability, bucket=bucket, contributions=explained)
        batch["version"] = np.full(n, self.version, dtype=object)
        return batch


class Writer(TenantStage):
    def __init__(self, dsn: str, tenant: dict[str, Any], run_id: str) -> None:
        super().__init__(dsn, tenant)
        self.run_id = UUID(run_id)

    def __call__(self, batch: Batch) -> Batch:
        return summary_batch([self.run(self._write(batch, page, rows, whole)) for page, rows, whole in by_page(batch)])

    async def _write(self, batch: Batch, page: int, indexes: list[int], whole: bool) -> dict[str, Any]:
        from infra import decisions
        from streams.processors.orders import UPSERT_SQL
        from streams.schemas import ChurnScored

        t = self.tenant
        live = [i for i in indexes if bool(batch["live"][i])]
        skipped = [i for i in live if batch["skip"][i]]
        reasons: dict[str, int] = {}
        for i in skipped:
            reasons[str(batch["skip"][i])] = reasons.get(str(batch["skip"][i]), 0) + 1
        written = unchanged = 0
        async with tenant_transaction(self.pool, t) as conn:
            for i in live:
                if batch["skip"][i]:
                    continue
                account_id, version = UUID(str(batch["key"][i])), str(batch["version"][i])
                probability, bucket = float(batch["probability"][i]), str(batch["bucket"][i])
                previous = await conn.fetchrow(PREVIOUS_SQL, t.tid, t.mid, account_id)
                if previous is not None and _same(previous, probability, bucket, version):
                    unchanged += 1
                    continue
                written += 1
                contributions = json.loads(str(batch["contributions"][i]))
                features = json.loads(str(batch["features"][i]))
                await conn.execute(UPSERT_SQL, t.tid, t.whid, t.mid, account_id, probability, bucket, version)
                await decisions.record(
                    conn,
                    t,
                    kind="churn_score",
                    ref_id=account_id,
                    model="churn",
                    model_version=version,
                    input_digest=decisions.input_hash(features),
                    output={"probability": probability, "bucket": bucket},
                    explanation={
                        "top_contributions": contributions,
                        "features": features,
                        "batch_run": str(self.run_id),
                    },
                    account_id=account_id,
                )
                before = previous["bucket"] if previous is not None else None
                if before != bucket:
                    scored = ChurnScored(
                        account_id=account_id,
                        probability=probability,
                        bucket=bucket,
                        previous_bucket=before,
                        model_version=version,
                        top_factors=contributions,
                    )
                    await outbox.enqueue(
                        conn,
                        tenant=t,
                        event_type="crm.churn.scored",
                        aggregate_type="account",
                        aggregate_id=account_id,
                        payload=scored.model_dump(mode="json"),
                        corr_id=f"batch:{self.run_id}",
                    )
            result = runs.PageResult(page, len(live), written, unchanged, skipped=reasons)
            return await runs.close_page(conn, t, self.run_id, result, whole=whole)


def _same(previous: Any, probability: float, bucket: str, version: str) -> bool:
    return (
        previous["bucket"] == bucket
        and previous["model_version"] == version
        and math.isclose(float(previous["probability"]), probability, abs_tol=1e-6)
    )
