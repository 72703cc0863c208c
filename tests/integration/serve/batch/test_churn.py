"""``vettify batch score-churn`` against real PostgreSQL and Redis, with the real CDNOW-trained model.

Accounts get real-looking order histories in the Redis feature store the stream writes; the job must score
every live account that has one exactly as the model scores it directly, skip (and count) those with none,
publish ``crm.churn.scored`` only for bucket changes, record each decision, and change nothing when re-run.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from infra.local_servers import RunningServer
from models.churn.features import Order
from models.churn.model import ChurnModel
from models.churn.store import RedisFeatureStore, account_key
from models.churn.train import ensure_artifact
from tests.support.batch_cli import batch_argv, batch_env, run_batch
from tests.support.databases import ProvisionedDatabase

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 30)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("churn-artifacts")
    ensure_artifact(root)
    return root


def _run(database: ProvisionedDatabase, tmp: Path, redis_url: str, artifacts: Path, tenant: str) -> Any:
    argv = batch_argv(
        *("score-churn", "--tenant", tenant, "--dsn", database.urls.app, "--redis-url", redis_url),
        *("--artifacts-dir", str(artifacts), "--as-of", AS_OF.isoformat(), "--page-size", "8"),
    )
    summary, _ = run_batch(batch_env(tmp), argv)
    return summary


def _history(k: int) -> list[Order]:
    """Varied customers: recent regulars, lapsed one-off buyers, and between."""
    last = AS_OF - timedelta(days=[3, 40, 120, 300, 500][k % 5])
    count = 1 + (k * 7) % 9
    return [Order(last - timedelta(days=30 * i), 20.0 + 11.5 * ((k + i) % 6), 1 + i % 3) for i in range(count)]


async def test_every_account_with_a_history_is_scored_once_and_a_re_run_changes_nothing(
    migrated_database: ProvisionedDatabase,
    admin_pool: asyncpg.Pool,
    redis_server: RunningServer,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    tid, mid = f"churn-{uuid.uuid4().hex[:8]}", "m1"
    with_history = [uuid.uuid4() for _ in range(30)]
    without = [uuid.uuid4() for _ in range(6)]
    deleted = uuid.uuid4()
    await admin_pool.executemany(
        "INSERT INTO crm.accounts (tid, whid, mid, id, name, deleted_at) VALUES ($1, NULL, $2, $3, $4, $5)",
        [(tid, mid, a, f"Firma {i} SRL", None) for i, a in enumerate(with_history + without)]
        + [(tid, mid, deleted, "Closed SRL", AS_OF)],
    )
    redis = aioredis.from_url(redis_server.url)
    store = RedisFeatureStore(redis)
    for k, account in enumerate([*with_history, deleted]):
        for n, order in enumerate(_history(k)):
            await store.record_order(account_key(tid, mid, str(account)), f"o-{k}-{n}", order)
    # five accounts already scored "low" by an older model: rewritten, and announced where the bucket moves
    await admin_pool.executemany(
        "INSERT INTO ai.churn_scores (tid, whid, mid, account_id, probability, bucket, model_version) "
        "VALUES ($1, NULL, $2, $3, 0.05, 'low', 'old')",
        [(tid, mid, a) for a in with_history[:5]],
    )

    summary = _run(migrated_database, tmp_path, redis_server.url, artifacts, f"{tid}/{mid}")

    (run,) = summary["runs"]
    assert (run["rows"], run["written"], run["unchanged"], run["skipped"], run["bad"]) == (36, 30, 0, 6, 0)
    assert run["skipped_reasons"] == {"no order on record": 6}
    model = ChurnModel.load(ensure_artifact(artifacts))
    scores = {
        r["account_id"]: r
        for r in await admin_pool.fetch(
            "SELECT account_id, probability, bucket, model_version FROM ai.churn_scores WHERE tid = $1", tid
        )
    }
    assert set(scores) == set(with_history)
    for account in with_history:
        expected = model.score(await store.features(account_key(tid, mid, str(account)), AS_OF))
        assert scores[account]["probability"] == pytest.approx(expected.probability, abs=1e-6)
        assert scores[account]["bucket"] == expected.bucket
        assert scores[account]["model_version"].startswith("xgboost-isotonic")
    assert len({s["bucket"] for s in scores.values()}) >= 2  # the histories really differ
    events = await admin_pool.fetch(
        "SELECT aggregate_id, payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.churn.scored'", tid
    )
    changed = {a for a in with_history[:5] if scores[a]["bucket"] != "low"} | set(with_history[5:])
    assert {e["aggregate_id"] for e in events} == changed
    assert all(e["payload"]["previous_bucket"] == "low" for e in events if e["aggregate_id"] in with_history[:5])
    decisions = await admin_pool.fetchval(
        "SELECT count(*) FROM ai.decisions WHERE tid = $1 AND kind = 'churn_score'", tid
    )
    assert decisions == 30

    again = _run(migrated_database, tmp_path, redis_server.url, artifacts, f"{tid}/{mid}")

    (rerun,) = again["runs"]
    assert (rerun["written"], rerun["unchanged"], rerun["skipped"]) == (0, 30, 6)
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.churn.scored'", tid
    ) == len(events)
    assert (
        await admin_pool.fetchval("SELECT count(*) FROM ai.decisions WHERE tid = $1 AND kind = 'churn_score'", tid)
        == 30
    )
    await redis.aclose()
