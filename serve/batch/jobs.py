"""Running a batch job for its tenants: open (or resume) a run per tenant and target, execute, report.

Each tenant is its own run, read and written inside its own tenant transactions under RLS. ``--all-tenants``
lists tenants through the worker role, which may see the tenant columns of the tables a job reads and
nothing else.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from infra.db.tenancy import TenantContext
from serve.batch import runs
from serve.batch.pipeline import Pipeline, Stage, Totals, execute

Say = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Endpoints:
    database_url: str  # the application role: RLS applies to every read and write
    worker_database_url: str | None = None  # tenant listing for --all-tenants
    redis_url: str | None = None  # the churn feature store


@dataclass(frozen=True)
class Resources:
    actors: int = 1  # model actors in the pool
    cpus_per_actor: float = 1.0
    threads: int | None = None  # inference threads per actor (default: its CPUs, at least 1)
    page_size: int = 256
    writers: int = 2  # writer actors: PostgreSQL's index maintenance (pgvector HNSW) is most of a write

    @property
    def model_threads(self) -> int:
        return self.threads or max(1, int(self.cpus_per_actor))


@dataclass
class Outcome:
    tenant: TenantContext
    target: str
    run: runs.Run
    totals: Totals

    def line(self, job: str) -> str:
        t, n = self.tenant, self.totals
        where = f"{t.tid}/{t.mid}{'/' + t.whid if t.whid else ''}"
        resumed = f" (resumed run {self.run.id}: {len(self.run.done)} pages were done)" if self.run.resumed else ""
        skipped = f", skipped {n.skipped:,} {dict(n.skipped_reasons)}" if n.skipped else ""
        return (
            f"[batch {job}] {where} {self.target}: {n.rows:,} rows in {n.seconds:.1f}s = {n.rows_per_s:,.1f} rows/s; "
            f"written {n.written:,}, unchanged {n.unchanged:,}{skipped}, bad {n.bad:,}{resumed}"
        )


@dataclass
class Report:
    job: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def bad(self) -> list[dict[str, str]]:
        seen: dict[str, dict[str, str]] = {}
        for outcome in self.outcomes:
            for entry in outcome.run.bad:
                seen.setdefault(f"{outcome.target}:{entry['id']}", {"target": outcome.target, **entry})
        return list(seen.values())

    @property
    def rows(self) -> int:
        return sum(o.totals.rows for o in self.outcomes)


TENANTS_SQL = {
    "embed": (
        "SELECT DISTINCT tid, mid, whid FROM ai.social_insights UNION "
        "SELECT DISTINCT tid, mid, whid FROM ai.behavior_patterns ORDER BY 1, 2, 3 NULLS FIRST"
    ),
    "score-churn": (
        "SELECT DISTINCT tid, mid, whid FROM crm.accounts WHERE deleted_at IS NULL ORDER BY 1, 2, 3 NULLS FIRST"
    ),
}


async def all_tenants(job: str, worker_dsn: str) -> list[TenantContext]:
    conn = await asyncpg.connect(worker_dsn)
    try:
        rows = await conn.fetch(TENANTS_SQL[job])
    finally:
        await conn.close()
    return [TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"]) for r in rows]


async def _with_pool(dsn: str, work: Callable[[asyncpg.Pool], Awaitable[Any]]) -> Any:
    from infra.db.pool import create_pool
    from infra.settings import Settings

    pool = await create_pool(dsn, Settings(), min_size=1, max_size=1)
    try:
        return await work(pool)
    finally:
        await pool.close()


def _tenant_kwargs(tenant: TenantContext) -> dict[str, Any]:
    return {"tid": tenant.tid, "mid": tenant.mid, "whid": tenant.whid}


def _run_one(
    endpoints: Endpoints,
    tenant: TenantContext,
    *,
    job: str,
    target: str,
    params: dict[str, Any],
    plan: Callable[[asyncpg.Connection], Awaitable[Sequence[str]]],
    build: Callable[[runs.Run], Pipeline],
    page_size: int,
    restart: bool,
    say: Say,
) -> Outcome:
    async def open_(pool: asyncpg.Pool) -> runs.Run:
        return await runs.open_run(
            pool, tenant, job=job, target=target, params=params, plan=plan, page_size=page_size, restart=restart
        )

    run: runs.Run = asyncio.run(_with_pool(endpoints.database_url, open_))
    where = f"{tenant.tid}/{tenant.mid}{'/' + tenant.whid if tenant.whid else ''}"
    if run.resumed:
        say(f"[batch {job}] {where} {target}: resuming run {run.id}, {len(run.done)}/{len(run.pages)} pages done")
    else:
        say(f"[batch {job}] {where} {target}: run {run.id}, {run.planned_rows:,} rows in {len(run.pages)} pages")
    totals = execute(build(run), run, label=f"{job} {target}", progress=say)

    async def finish(pool: asyncpg.Pool) -> runs.Run:
        return await runs.finish(pool, run)

    run = asyncio.run(_with_pool(endpoints.database_url, finish))
    outcome = Outcome(tenant, target, run, totals)
    say(outcome.line(job))
    return outcome


def embed(
    endpoints: Endpoints,
    tenants: list[TenantContext],
    *,
    targets: Sequence[str] = ("mentions", "journeys"),
    model_path: str | None = None,
    version: str | None = None,
    dtype: str | None = None,
    resources: Resources = Resources(),
    restart: bool = False,
    say: Say = _stderr,
) -> Report:
    """Re-embed the stale rows of ``targets`` for each tenant with the model at ``model_path``."""
    from serve.batch import embed as job

    unknown = sorted(set(targets) - set(job.TARGETS))
    if unknown or not targets:
        raise ValueError(f"unknown targets {unknown}: choose from {', '.join(job.TARGETS)}")
    chosen = version or model_version(model_path)
    report = Report("embed")
    for tenant in tenants:
        for name in targets:
            target = job.TARGETS[name]

            async def plan(
                conn: asyncpg.Connection, target: job.Target = target, tenant: TenantContext = tenant
            ) -> list[str]:
                return await job.stale_keys(conn, target, tenant, chosen)

            def build(run: runs.Run, name: str = name, tenant: TenantContext = tenant) -> Pipeline:
                common = {"dsn": endpoints.database_url, "tenant": _tenant_kwargs(tenant), "target": name}
                return Pipeline(
                    reader=Stage(job.Reader, {**common, "version": chosen}),
                    model=Stage(
                        job.Model,
                        {"model_path": model_path, "threads": resources.model_threads, "dtype": dtype},
                        concurrency=resources.actors,
                        num_cpus=resources.cpus_per_actor,
                    ),
                    writer=Stage(
                        job.Writer, {**common, "version": chosen, "run_id": str(run.id)}, concurrency=resources.writers
                    ),
                )

            report.outcomes.append(
                _run_one(
                    endpoints,
                    tenant,
                    job="embed",
                    target=name,
                    params={"model_version": chosen},
                    plan=plan,
                    build=build,
                    page_size=resources.page_size,
                    restart=restart,
                    say=say,
                )
            )
    return report


def model_version(model_path: str | None) -> str:
    """What a vector made by this model is tagged with: the packaged model's version, or the folder's name."""
    from models.registry import registry

    return f"local:{Path(model_path).resolve().name}" if model_path else registry.spec("embedding").version


def score_churn(
    endpoints: Endpoints,
    tenants: list[TenantContext],
    *,
    artifacts_dir: str,
    as_of: date | None = None,
    resources: Resources = Resources(),
    restart: bool = False,
    say: Say = _stderr,
) -> Report:
    """Re-score every live account of each tenant; ``as_of`` (default today) is the scoring date."""
    from serve.batch import churn as job

    if endpoints.redis_url is None:
        raise ValueError("score-churn reads the churn feature store: give --redis-url or set VETTIFY_REDIS_URL")
    redis_url = endpoints.redis_url
    report = Report("score-churn")
    for tenant in tenants:

        async def plan(conn: asyncpg.Connection, tenant: TenantContext = tenant) -> list[str]:
            return await job.account_keys(conn, tenant)

        def build(run: runs.Run, tenant: TenantContext = tenant) -> Pipeline:
            day = str(run.params.get("as_of") or (as_of or date.today()).isoformat())
            common = {"dsn": endpoints.database_url, "tenant": _tenant_kwargs(tenant)}
            return Pipeline(
                reader=Stage(job.Reader, {**common, "redis_url": redis_url, "as_of": day}),
                model=Stage(
                    job.Model,
                    {"artifacts_dir": artifacts_dir},
                    concurrency=resources.actors,
                    num_cpus=resources.cpus_per_actor,
                ),
                writer=Stage(job.Writer, {**common, "run_id": str(run.id)}, concurrency=resources.writers),
            )

        report.outcomes.append(
            _run_one(
                endpoints,
                tenant,
                job="score-churn",
                target="accounts",
                params={"as_of": (as_of or date.today()).isoformat()},
                plan=plan,
                build=build,
                page_size=resources.page_size,
                restart=restart,
                say=say,
            )
        )
    return report


def analyze_calls(
    endpoints: Endpoints,
    tenant: TenantContext,
    folder: Path,
    *,
    manifest: dict[str, dict[str, str]] | None = None,
    voice: dict[str, Any] | None = None,
    fps: float = 1.0,
    max_bytes: int = 50 * 1024 * 1024,
    resources: Resources = Resources(),
    restart: bool = False,
    say: Say = _stderr,
) -> Report:
    """Analyse every recording under ``folder`` for ``tenant``; ``voice``: the voice model's options."""
    from serve.batch import calls as job

    root = folder.resolve()
    if not root.is_dir():
        raise ValueError(f"{folder} is not a folder")
    found = job.recordings(root)
    if not found:
        raise ValueError(f"no recordings under {folder} (looked for {', '.join(sorted(job.VOICE | job.VIDEO))})")
    unknown = sorted(set(manifest or {}) - set(found))
    if unknown:
        raise ValueError(f"the manifest names files that are not under {folder}: {unknown[:5]}")

    async def plan(conn: asyncpg.Connection) -> list[str]:
        return found

    def build(run: runs.Run) -> Pipeline:
        common = {"dsn": endpoints.database_url, "tenant": _tenant_kwargs(tenant)}
        return Pipeline(
            reader=Stage(
                job.Reader,
                {**common, "folder": str(root), "manifest": manifest or {}, "max_bytes": max_bytes, "fps": fps},
            ),
            model=Stage(
                job.Model,
                {"voice": voice or {}, "threads": resources.model_threads},
                concurrency=resources.actors,
                num_cpus=resources.cpus_per_actor,
            ),
            writer=Stage(job.Writer, {**common, "run_id": str(run.id)}, concurrency=resources.writers),
        )

    report = Report("analyze-calls")
    report.outcomes.append(
        _run_one(
            endpoints,
            tenant,
            job="analyze-calls",
            target=str(root),
            params={"files": len(found), "fps": fps},
            plan=plan,
            build=build,
            page_size=resources.page_size,
            restart=restart,
            say=say,
        )
    )
    return report
