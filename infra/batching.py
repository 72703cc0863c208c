"""Gather single-item calls into one model call (what ``@serve.batch`` does, on the caller's side).

A bus delivers one event per message; sending each text to the model on its
own would cost one round trip per event. :class:`MicroBatcher` collects items
and calls ``run`` once per batch; every caller gets its own result (or the
batch's exception).

Batches form the way continuous batching forms them: at most
``max_in_flight`` calls run at once; while they run, new items wait, and the
next call takes everything that waited (up to ``max_size``). Idle, an item
waits at most ``max_wait_s``; under load, batches grow to the model's pace
without a longer timer. (A bus that hands items over one ack at a time would
otherwise give the timer only a few items per window.)

``size`` weighs an item (default 1): a caller that brings several texts counts
as that many toward ``max_size``, and a batch always takes at least one item.
``limit`` (optional) sizes each batch from what waits: given the waiting items'
total size, how much the next batch may take (never more than ``max_size``).

With tracing on, each batch runs in a span named ``trace_name`` (the batch's size as ``batch.size``), a child
of its first traced caller and linked to every caller (:func:`infra.tracing.batch_span`).

``max_pending`` bounds what may wait: past it :meth:`MicroBatcher.submit`
raises :class:`BatcherFull` at once (back-pressure for the caller to answer,
never an unbounded queue).

A caller that goes away (its deadline passed, its client hung up) costs no more
model time than it has already started: its item is dropped if it still waits,
and a running call whose callers have all gone is cancelled (``run`` stops at
its next ``await``; a model that computes in passes stops after the current one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from opentelemetry.trace import SpanContext

from infra import tracing
from infra.errors import AtCapacity

T = TypeVar("T")
R = TypeVar("R")


class BatcherFull(AtCapacity):
    """More items wait than ``max_pending`` allows."""


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_size: int = 32,
        max_wait_s: float = 0.005,
        max_in_flight: int = 2,
        max_pending: int | None = None,
        size: Callable[[T], int] | None = None,
        limit: Callable[[int], int] | None = None,
        trace_name: str = "batch",
    ) -> None:
        self.run = run
        self.limit = limit
        self.trace_name = trace_name
        self.size = size
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.max_in_flight = max_in_flight
        self.max_pending = max_pending
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._pending_size = 0  # the pending items' total size
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batch_sizes: list[int] = []  # the last batches' sizes (bounded), for tests and metrics
        self._callers: dict[asyncio.Future[R], SpanContext] = {}  # waiting callers' spans (tracing on)

    async def submit(self, item: T) -> R:
        if self.max_pending is not None and len(self._pending) >= self.max_pending:
            raise BatcherFull(f"{len(self._pending)} items already wait for the model")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        caller = tracing.current_span_context()
        if caller is not None:
            self._callers[future] = caller
        self._pending_size += self._size(item)
        if self._in_flight < self.max_in_flight:
            if self._pending_size >= self.max_size:
                self._flush()
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.max_wait_s, self._flush)
        return await future

    def _size(self, item: T) -> int:
        return 1 if self.size is None else self.size(item)

    @property
    def pending(self) -> int:
        """Items waiting for a batch (callers, not their sizes)."""
        return len(self._pending)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._drop_abandoned()
        if self._in_flight >= self.max_in_flight or not self._pending:
            return  # a finishing call flushes what waits
        taken, total = 0, 0
        cap = self.max_size if self.limit is None else min(self.max_size, self.limit(self._pending_size))
        for item, _ in self._pending:
            weight = self._size(item)
            if taken and total + weight > cap:
                break
            taken, total = taken + 1, total + weight
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        self._pending_size -= total
        self._in_flight += 1
        self.batch_sizes = [*self.batch_sizes[-99:], total]
        task = asyncio.ensure_future(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._cancel_when_abandoned(task, [future for _, future in batch])

    def _drop_abandoned(self) -> None:
        """Forget waiting items whose callers were cancelled: nobody would read their results."""
        if all(not future.done() for _, future in self._pending):
            return
        kept = [(item, future) for item, future in self._pending if not future.done()]
        for _, future in self._pending:
            if future.done():
                self._callers.pop(future, None)
        self._pending_size -= sum(self._size(item) for item, future in self._pending if future.done())
        self._pending = kept

    @staticmethod
    def _cancel_when_abandoned(task: asyncio.Task[None], futures: list[asyncio.Future[R]]) -> None:
        """Cancel ``task`` once every caller of its batch has been cancelled."""

        def on_done(_: asyncio.Future[R]) -> None:
            if not task.done() and all(future.cancelled() for future in futures):
                task.cancel()

        for future in futures:
            future.add_done_callback(on_done)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        callers = [c for _, f in batch if (c := self._callers.pop(f, None)) is not None] if self._callers else []
        if callers:
            size = sum(self._size(item) for item, _ in batch)
            with tracing.batch_span(self.trace_name, callers, {"batch.size": size, "batch.callers": len(batch)}):
                await self._run_batch(batch)
        else:
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self.run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # every waiter learns why; cancellation included
            cancelled = isinstance(exc, asyncio.CancelledError)
            for _, future in batch:
                if not future.done():
                    future.cancel() if cancelled else future.set_exception(exc)
            if cancelled:
                raise
            return
        finally:
            self._in_flight -= 1
            if self._pending:
                self._flush()
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
