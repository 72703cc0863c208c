"""``vettify batch embed``: recompute stored vectors whose embedding model is not the current one.

Targets: mentions (``ai.social_insights``, keyed by id, the stored text) and journeys
(``ai.behavior_patterns``, keyed by session, the journey text). A row is *stale* when its
``embedding_model`` differs from the job's model version (``NULL``: stored before versions were kept).
Rows whose vector retention removed (``embedding IS NULL``) are never given one back. A row is written
only while it is still stale and its text is still the text that was embedded (a journey the stream
extended meanwhile keeps its newer vector), so re-running changes nothing and concurrent streams win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from infra.db.tenancy import TenantContext, tenant_transaction
from serve.batch import runs
from serve.batch.pipeline import Batch, TenantStage, by_page, page_rows, rows_batch, summary_batch


@dataclass(frozen=True)
class Target:
    name: str
    table: str
    key: str
    key_type: str  # the SQL type of the key, for the page bounds and the update's unnest
    text: str  # the column that is embedded

    @property
    def _stale(self) -> str:
        return (
            "tid = $1 AND mid = $2 AND whid IS NOT DISTINCT FROM $3 AND embedding IS NOT NULL "
            "AND embedding_model IS DISTINCT FROM $4"
        )

    @property
    def _order(self) -> str:
        return f'{self.key} COLLATE "C"' if self.key_type == "text" else self.key

    @property
    def keys_sql(self) -> str:
        return f"SELECT {self.key}::text FROM {self.table} WHERE {self._stale} ORDER BY {self._order}"

    def page_sql(self, *, first: bool) -> str:
        """A page's stale rows; the first page has no lower bound (two statements, so both use the key's index)."""
        lower = "" if first else f"AND {self._order} > $5::{self.key_type} "
        upper = "$5" if first else "$6"
        return (
            f"SELECT {self.key}::text AS key, {self.text} AS text FROM {self.table} WHERE {self._stale} "
            f"{lower}AND {self._order} <= {upper}::{self.key_type} ORDER BY {self._order}"
        )

    @property
    def update_sql(self) -> str:
        return (
            f"UPDATE {self.table} t SET embedding = u.v::vector, embedding_model = $4 "
            f"FROM unnest($5::{self.key_type}[], $6::text[], $7::text[]) AS u(k, v, txt) "
            f"WHERE t.tid = $1 AND t.mid = $2 AND t.whid IS NOT DISTINCT FROM $3 AND t.{self.key} = u.k "
            f"AND t.embedding IS NOT NULL AND t.embedding_model IS DISTINCT FROM $4 AND t.{self.text} = u.txt "
            f"RETURNING t.{self.key}"
        )


TARGETS = {
    "mentions": Target("mentions", "ai.social_insights", "id", "uuid", "text"),
    "journeys": Target("journeys", "ai.behavior_patterns", "session_id", "text", "journey"),
}


async def stale_keys(conn: Any, target: Target, tenant: TenantContext, version: str) -> list[str]:
    return [r[0] for r in await conn.fetch(target.keys_sql, tenant.tid, tenant.mid, tenant.whid, version)]


async def count_stale(pool: Any, target: Target, tenant: TenantContext, version: str) -> int:
    sql = f"SELECT count(*) FROM ({target.keys_sql}) s"
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        return int(await conn.fetchval(sql, tenant.tid, tenant.mid, tenant.whid, version))


class Reader(TenantStage):
    def __init__(self, dsn: str, tenant: dict[str, Any], target: str, version: str) -> None:
        super().__init__(dsn, tenant)
        self.target, self.version = TARGETS[target], version

    def __call__(self, pages: Batch) -> Batch:
        (page,) = list(page_rows(pages))
        return self.run(self._read(page))

    async def _read(self, page: dict[str, Any]) -> Batch:
        t = self.tenant
        bounds = [page["hi"]] if page["lo"] is None else [page["lo"], page["hi"]]
        async with tenant_transaction(self.pool, t, readonly=True) as conn:
            sql = self.target.page_sql(first=page["lo"] is None)
            rows = await conn.fetch(sql, t.tid, t.mid, t.whid, self.version, *bounds)
        return rows_batch(page["page"], [{"key": r["key"], "text": r["text"]} for r in rows], {"key": "", "text": ""})


class Model:
    """The embedding model in an actor: one load, then a page per call."""

    def __init__(self, model_path: str | None, threads: int | None, dtype: str | None) -> None:
        from pathlib import Path

        from models.registry import ModelOptions, registry

        options = ModelOptions(
            model_path=Path(model_path) if model_path else None, threads=threads, dtype=dtype or "auto"
        )
        self.encoder = registry.load("embedding", options)

    def __call__(self, batch: Batch) -> Batch:
        from models.embeddings.encoder import DIMENSIONS, check_texts
        from models.errors import InvalidInput

        texts = [str(t) for t in batch["text"]]
        errors = [""] * len(texts)
        ok: list[int] = []
        for i, text in enumerate(texts):
            if not bool(batch["live"][i]):
                continue
            try:
                check_texts([text])
            except InvalidInput as exc:
                errors[i] = str(exc).replace("text 0", "the text")
                continue
            ok.append(i)
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if ok:
            vectors[ok] = self.encoder.encode([texts[i] for i in ok]).vectors
        batch["embedding"] = vectors
        batch["error"] = np.asarray(errors, dtype=object)
        return batch


class Writer(TenantStage):
    def __init__(self, dsn: str, tenant: dict[str, Any], target: str, version: str, run_id: str) -> None:
        super().__init__(dsn, tenant)
        self.target, self.version, self.run_id = TARGETS[target], version, run_id

    def __call__(self, batch: Batch) -> Batch:
        return summary_batch([self.run(self._write(batch, page, rows, whole)) for page, rows, whole in by_page(batch)])

    async def _write(self, batch: Batch, page: int, indexes: list[int], whole: bool) -> dict[str, Any]:
        from uuid import UUID

        t = self.tenant
        live = [i for i in indexes if bool(batch["live"][i])]
        good = [i for i in live if not batch["error"][i]]
        bad = [{"id": str(batch["key"][i]), "reason": str(batch["error"][i])} for i in live if batch["error"][i]]
        keys: list[Any] = [str(batch["key"][i]) for i in good]
        if self.target.key_type == "uuid":
            keys = [UUID(k) for k in keys]
        vectors = [_vector_text(batch["embedding"][i]) for i in good]
        texts = [str(batch["text"][i]) for i in good]
        async with tenant_transaction(self.pool, t) as conn:
            updated = await conn.fetch(self.target.update_sql, t.tid, t.mid, t.whid, self.version, keys, vectors, texts)
            result = runs.PageResult(page, len(live), len(updated), len(good) - len(updated), bad)
            return await runs.close_page(conn, t, UUID(self.run_id), result, whole=whole)


def _vector_text(vector: np.ndarray[Any, Any]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"
