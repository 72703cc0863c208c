"""A batch job's run in ``ai.batch_runs``: its key-ordered pages, the pages written, and resuming.

A run is planned once: the keys it will visit, cut into pages of consecutive keys (``lo`` exclusive,
``hi`` inclusive). Each page is written in one tenant transaction that also adds its index to
``done_pages``, so after a crash a new run of the same job and target picks up the open run and skips the
pages it committed. Nothing here imports Ray; the pipeline calls these from its reader and writer actors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from infra.db.tenancy import TenantContext, tenant_transaction

OPEN_SQL = """
SELECT id, params, pages, done_pages, rows_written, rows_unchanged, bad FROM ai.batch_runs
WHERE tid = $1 AND mid = $2 AND whid IS NOT DISTINCT FROM $3 AND job = $4 AND target = $5 AND state = 'running'
ORDER BY created_at DESC LIMIT 1
"""
INSERT_SQL = """
INSERT INTO ai.batch_runs (tid, whid, mid, job, target, params, pages) VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""
ABANDON_SQL = """
UPDATE ai.batch_runs SET state = 'finished', finished_at = now(), updated_at = now(),
    params = params || '{"abandoned": true}'::jsonb
WHERE tid = $1 AND mid = $2 AND whid IS NOT DISTINCT FROM $3 AND job = $4 AND target = $5 AND state = 'running'
"""
PAGE_DONE_SQL = """
UPDATE ai.batch_runs SET done_pages = array_append(done_pages, $4), rows_written = rows_written + $5,
    rows_unchanged = rows_unchanged + $6, bad = bad || $7::jsonb, updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3 AND NOT ($4 = ANY(done_pages))
"""
BAD_SQL = "UPDATE ai.batch_runs SET bad = bad || $4::jsonb, updated_at = now() WHERE tid = $1 AND mid = $2 AND id = $3"
FINISH_SQL = """
UPDATE ai.batch_runs SET state = 'finished', finished_at = now(), updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3
RETURNING rows_written, rows_unchanged, bad
"""


@dataclass(frozen=True)
class Page:
    index: int
    lo: str | None  # the previous page's last key (exclusive); None: from the first key
    hi: str  # this page's last key (inclusive)
    rows: int  # keys planned in it


def cut_pages(keys: Sequence[str], size: int) -> list[Page]:
    """Consecutive, key-ordered pages of at most ``size`` keys (``keys`` sorted as the database sorts them)."""
    if size < 1:
        raise ValueError("a page holds at least one row")
    pages, lo = [], None
    for index, start in enumerate(range(0, len(keys), size)):
        chunk = keys[start : start + size]
        pages.append(Page(index, lo, chunk[-1], len(chunk)))
        lo = chunk[-1]
    return pages


@dataclass
class Run:
    id: UUID
    tenant: TenantContext
    job: str
    target: str
    pages: list[Page]
    done: set[int] = field(default_factory=set)
    rows_written: int = 0
    rows_unchanged: int = 0
    bad: list[dict[str, str]] = field(default_factory=list)
    resumed: bool = False
    params: dict[str, Any] = field(default_factory=dict)  # what the run was started with (a resume keeps them)

    @property
    def todo(self) -> list[Page]:
        return [p for p in self.pages if p.index not in self.done]

    @property
    def planned_rows(self) -> int:
        return sum(p.rows for p in self.pages)


def _page_json(page: Page) -> dict[str, Any]:
    return {"index": page.index, "lo": page.lo, "hi": page.hi, "rows": page.rows}


async def open_run(
    pool: asyncpg.Pool,
    tenant: TenantContext,
    *,
    job: str,
    target: str,
    params: dict[str, Any],
    plan: Callable[[asyncpg.Connection], Awaitable[Sequence[str]]],
    page_size: int,
    restart: bool = False,
) -> Run:
    """The job's open run for ``target`` (resumed), or a new one over the keys ``plan`` lists, cut into pages.

    ``plan`` runs in the tenant's transaction and must list keys in the order the readers' page bounds use.
    ``restart`` closes an open run instead of resuming it. ``Run.resumed`` says which.
    """
    async with tenant_transaction(pool, tenant) as conn:
        if restart:
            await conn.execute(ABANDON_SQL, tenant.tid, tenant.mid, tenant.whid, job, target)
        else:
            row = await conn.fetchrow(OPEN_SQL, tenant.tid, tenant.mid, tenant.whid, job, target)
            if row is not None:
                pages = [Page(p["index"], p["lo"], p["hi"], p["rows"]) for p in row["pages"]]
                run = Run(
                    row["id"],
                    tenant,
                    job,
                    target,
                    pages,
                    set(row["done_pages"]),
                    int(row["rows_written"]),
                    int(row["rows_unchanged"]),
                    list(row["bad"]),
                    resumed=True,
                    params=dict(row["params"]),
                )
                return run
        pages = cut_pages(await plan(conn), page_size)
        run_id = await conn.fetchval(
            INSERT_SQL, tenant.tid, tenant.whid, tenant.mid, job, target, params, [_page_json(p) for p in pages]
        )
    return Run(run_id, tenant, job, target, pages, params=params)


async def page_done(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    run_id: UUID,
    page: int,
    *,
    written: int,
    unchanged: int,
    bad: list[dict[str, str]],
) -> bool:
    """Inside the page's write transaction: mark it done (False: it already was, so the caller rolls back)."""
    status = await conn.execute(PAGE_DONE_SQL, tenant.tid, tenant.mid, run_id, page, written, unchanged, bad)
    return bool(status.endswith(" 1"))


async def add_bad(conn: asyncpg.Connection, tenant: TenantContext, run_id: UUID, bad: list[dict[str, str]]) -> None:
    """Bad rows of a page that could not be marked done (it arrived split): kept all the same."""
    if bad:
        await conn.execute(BAD_SQL, tenant.tid, tenant.mid, run_id, bad)


@dataclass
class PageResult:
    """What a writer did with one page, and the summary row it hands the driver."""

    page: int
    rows: int  # the page's rows the writer saw (placeholders excluded)
    written: int = 0
    unchanged: int = 0
    bad: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows stored or passed over, not bad
    complete: bool = False  # marked done in ai.batch_runs

    def as_row(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "complete": int(self.complete),
            "rows": self.rows,
            "written": self.written,
            "unchanged": self.unchanged,
            "skipped": sum(self.skipped.values()),
            "bad": len(self.bad),
            "skipped_reasons": self.skipped,
        }


async def close_page(
    conn: asyncpg.Connection, tenant: TenantContext, run_id: UUID, result: PageResult, *, whole: bool
) -> dict[str, Any]:
    """Last statement of a page's write transaction: mark the page done when the writer held all of it
    (its counts and bad rows go on the run with it), else keep just its bad rows. The summary row."""
    if whole:
        result.complete = await page_done(
            conn,
            tenant,
            run_id,
            result.page,
            written=result.written,
            unchanged=result.unchanged,
            bad=result.bad,
        )
    if not result.complete:
        await add_bad(conn, tenant, run_id, result.bad)
    return result.as_row()


async def finish(pool: asyncpg.Pool, run: Run) -> Run:
    async with tenant_transaction(pool, run.tenant) as conn:
        row = await conn.fetchrow(FINISH_SQL, run.tenant.tid, run.tenant.mid, run.id)
    if row is not None:
        run.rows_written, run.rows_unchanged, run.bad = int(row["rows_written"]), int(row["rows_unchanged"]), row["bad"]
    return run
