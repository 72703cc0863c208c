"""The one Ray Data pipeline every batch job runs: pages → reader → model actors → writer → progress.

``ray.data.from_items`` holds the run's pages still to do, one block each. Three ``map_batches`` stages
follow, each a class so its state (a database pool, a loaded model) is built once per actor:

* the **reader** turns a page (``lo`` < key ≤ ``hi``) into its rows, inside the tenant's transaction;
* the **model** stage runs in an actor pool (``--actors``), the only stage that needs real CPU;
* the **writer** writes a page's rows and marks the page done in one tenant transaction, and answers one
  summary row per page, which the driver turns into progress lines and the final rows/s.

Ray Data streams the stages, so one page is read while the one before it is in the model and the one
before that is being written. Every row carries ``page`` and ``page_len`` (the rows its reader emitted;
a page with nothing left to do emits one placeholder row with ``live`` false), so the writer knows when
it holds a whole page and may mark it done. A page that reaches the writer split (Ray Data may cut a
block) is written but not marked: a resumed run re-reads it and finds nothing left to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from infra.db.tenancy import TenantContext
from serve.batch.runs import Page, Run

T = TypeVar("T")
Batch = dict[str, Any]  # Ray Data's numpy batch format: column name → numpy array


@dataclass(frozen=True)
class Stage:
    """A ``map_batches`` stage: a callable class, its constructor's arguments and its resources."""

    cls: type
    kwargs: dict[str, Any]
    concurrency: int = 1
    num_cpus: float = 0.0  # readers and writers wait on PostgreSQL: logical CPUs are for the model actors


@dataclass(frozen=True)
class Pipeline:
    reader: Stage
    model: Stage
    writer: Stage


@dataclass
class Totals:
    """What the writer reported, summed over pages."""

    pages: int = 0
    rows: int = 0  # rows the writer saw (placeholders excluded)
    written: int = 0
    unchanged: int = 0
    skipped: int = 0
    bad: int = 0
    seconds: float = 0.0
    skipped_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class TenantStage:
    """Base of the reader and writer actors: a private event loop with an asyncpg pool for one tenant."""

    def __init__(self, dsn: str, tenant: dict[str, Any]) -> None:
        from infra.db.pool import create_pool
        from infra.settings import Settings

        self.tenant = TenantContext(**tenant)
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()  # one coroutine at a time on the private loop
        self.pool = self.run(create_pool(dsn, Settings(), min_size=1, max_size=2))

    def run(self, coroutine: Awaitable[T]) -> T:
        with self._lock:
            return self._loop.run_until_complete(coroutine)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # the actor is going away; the server drops the connections
            self.run(self.pool.close())


def page_rows(page: Batch) -> Iterator[dict[str, Any]]:
    """The page descriptors a reader gets (``batch_size=1``: one, but tolerate more)."""
    for i in range(len(page["page"])):
        yield {
            "page": int(page["page"][i]),
            "lo": str(page["lo"][i]) if bool(page["has_lo"][i]) else None,
            "hi": str(page["hi"][i]),
        }


def rows_batch(page: int, rows: list[dict[str, Any]], empty: dict[str, Any]) -> Batch:
    """A reader's output: ``rows`` of ``page`` as columns, or one placeholder row (``empty``'s values)."""
    live = bool(rows)
    rows = rows or [empty]
    columns: Batch = {name: _column([row[name] for row in rows]) for name in rows[0]}
    columns["page"] = np.full(len(rows), page, dtype=np.int64)
    columns["page_len"] = np.full(len(rows), len(rows), dtype=np.int64)
    columns["live"] = np.full(len(rows), live, dtype=bool)
    return columns


def _column(values: list[Any]) -> np.ndarray[Any, Any]:
    if values and all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)
    if values and all(isinstance(v, np.ndarray) for v in values):
        return np.stack(values)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def summary_batch(rows: list[dict[str, Any]]) -> Batch:
    """A writer's output: one row per page it wrote (counts, and the skip reasons as JSON)."""
    names = ("page", "complete", "rows", "written", "unchanged", "skipped", "bad")
    out: Batch = {name: np.asarray([r[name] for r in rows], dtype=np.int64) for name in names}
    out["skipped_reasons"] = _column([json.dumps(r.get("skipped_reasons", {})) for r in rows])
    return out


def by_page(batch: Batch) -> Iterator[tuple[int, list[int], bool]]:
    """``(page, row indexes, whole page here?)`` for each page in a writer's batch."""
    pages = batch["page"]
    for page in sorted({int(p) for p in pages}):
        indexes = [i for i in range(len(pages)) if int(pages[i]) == page]
        yield page, indexes, len(indexes) == int(batch["page_len"][indexes[0]])


def _page_items(pages: list[Page]) -> list[dict[str, Any]]:
    return [{"page": p.index, "lo": p.lo or "", "has_lo": p.lo is not None, "hi": p.hi} for p in pages]


def execute(pipeline: Pipeline, run: Run, *, label: str, progress: Callable[[str], None] | None = None) -> Totals:
    """Run ``run``'s pages still to do through ``pipeline``; the driver only counts and prints."""
    import ray.data

    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    todo = run.todo
    totals = Totals()
    if not todo:
        return totals
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    planned = sum(p.rows for p in todo)
    ds: ray.data.Dataset = ray.data.from_items(_page_items(todo), override_num_blocks=len(todo))
    for stage, batch_size in ((pipeline.reader, 1), (pipeline.model, None), (pipeline.writer, None)):
        ds = ds.map_batches(
            stage.cls,
            fn_constructor_kwargs=stage.kwargs,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=stage.concurrency),
            num_cpus=stage.num_cpus,
        )
    started = last = time.monotonic()
    for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for i in range(len(out["page"])):
            totals.pages += int(out["complete"][i])
            totals.rows += int(out["rows"][i])
            totals.written += int(out["written"][i])
            totals.unchanged += int(out["unchanged"][i])
            totals.skipped += int(out["skipped"][i])
            totals.bad += int(out["bad"][i])
            for reason, count in json.loads(str(out["skipped_reasons"][i])).items():
                totals.skipped_reasons[reason] = totals.skipped_reasons.get(reason, 0) + count
        now = time.monotonic()
        if now - last >= 2.0 or totals.pages == len(todo):
            last = now
            rate = totals.rows / (now - started) if now > started else 0.0
            say(
                f"[batch {label}] {totals.pages}/{len(todo)} pages, {totals.rows:,}/{planned:,} rows, "
                f"{rate:,.0f} rows/s; written {totals.written:,}, unchanged {totals.unchanged:,}, "
                f"skipped {totals.skipped:,}, bad {totals.bad:,}"
            )
    totals.seconds = time.monotonic() - started
    return totals
