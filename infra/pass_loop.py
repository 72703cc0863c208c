"""Model passes on a thread that takes its next batch the moment a pass ends.

:class:`~infra.batching.MicroBatcher` forms batches on the event loop: when a pass ends in the inference thread,
the loop must wake, settle the pass's callers and start the next pass. In the gateway that loop also parses
every HTTP and gRPC request and runs Serve's own bookkeeping, so the model sat idle between passes while its
next callers waited (measured in the gateway under Poisson load at 44 requests/s: gaps of 4.9 ms at the
median and 30 ms at p90, beside passes of 13-17 ms).

Here the thread owns the queue. A caller's item goes into a :class:`PassQueue` from the loop; the thread takes
everything that waits (up to ``max_size``, weighed by ``size``) as soon as it is free, runs the pass, hands
the results back to the callers' loop in one ``call_soon_threadsafe`` and takes the next batch without
waiting for that loop. Batches still form the continuous-batching way: what arrived during a pass is the next.

One :class:`PassLoop` thread serves several queues (models sharing the cores: one pass at a time), oldest
waiting item first, and is also a :class:`concurrent.futures.Executor` (warm-up passes, ``run_in_executor``)
whose jobs take their turn between passes.

Back-pressure and abandonment as :class:`~infra.batching.MicroBatcher`: past ``max_pending`` waiting items
:meth:`PassQueue.submit` raises :class:`~infra.batching.BatcherFull` at once; an item whose caller was
cancelled before its pass is dropped, and a pass function that works in chunks can ask
:meth:`PassBatch.abandoned` between them.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from opentelemetry.trace import SpanContext

from infra import tracing
from infra.batching import BatcherFull

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[T, R]):
    seq: int
    item: T
    weight: int
    future: asyncio.Future[R]
    loop: asyncio.AbstractEventLoop
    caller: SpanContext | None


@dataclass
class _Job:
    seq: int
    run: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass(frozen=True)
class PassBatch(Generic[T]):
    """What one pass gets: the items, and a way to learn that every caller has gone (between chunks)."""

    items: list[T]
    _futures: Sequence[asyncio.Future[Any]]

    def abandoned(self) -> bool:
        """Every caller of this batch was cancelled: nobody reads the rest of the work."""
        return all(f.cancelled() for f in self._futures)


class PassAbandoned(Exception):
    """Raised by a pass function that stopped because :meth:`PassBatch.abandoned` said so."""


class PassQueue(Generic[T, R]):
    """One model's callers, served by a :class:`PassLoop` thread. Made by :meth:`PassLoop.queue`."""

    def __init__(
        self,
        owner: PassLoop,
        run: Callable[[PassBatch[T]], list[R]],
        *,
        max_size: int,
        max_pending: int | None,
        size: Callable[[T], int] | None,
        on_pass: Callable[[int, float], None] | None,
        trace_name: str,
    ) -> None:
        self._owner = owner
        self.run = run
        self.max_size = max_size
        self.max_pending = max_pending
        self.size = size
        self.on_pass = on_pass
        self.trace_name = trace_name
        self._waiting: deque[_Waiting[T, R]] = deque()
        self.batch_sizes: list[int] = []  # the last batches' sizes (bounded), for tests and metrics

    @property
    def pending(self) -> int:
        """Items waiting for a pass (callers, not their sizes)."""
        return len(self._waiting)

    async def submit(self, item: T) -> R:
        """``item``'s result, after the pass that takes it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        weight = 1 if self.size is None else self.size(item)
        with self._owner.condition:
            if self.max_pending is not None and len(self._waiting) >= self.max_pending:
                raise BatcherFull(f"{len(self._waiting)} items already wait for the model")
            waiting = _Waiting(self._owner.next_seq(), item, weight, future, loop, tracing.current_span_context())
            self._waiting.append(waiting)
            self._owner.wake()
        return await future

    def head_seq(self) -> int | None:
        """The oldest live item's number (the thread's lock held); cancelled items at the front are dropped."""
        while self._waiting and self._waiting[0].future.done():
            self._waiting.popleft()
        return self._waiting[0].seq if self._waiting else None

    def take(self) -> list[_Waiting[T, R]]:
        """The next batch: live items in order, up to ``max_size`` by weight, at least one (lock held)."""
        batch: list[_Waiting[T, R]] = []
        total = 0
        while self._waiting:
            waiting = self._waiting[0]
            if waiting.future.done():
                self._waiting.popleft()
                continue
            if batch and total + waiting.weight > self.max_size:
                break
            batch.append(self._waiting.popleft())
            total += waiting.weight
        self.batch_sizes = [*self.batch_sizes[-99:], total]
        return batch

    def serve(self, batch: list[_Waiting[T, R]]) -> None:
        """Run one pass over ``batch`` (in the thread) and hand its results to the callers' loops."""
        futures = [w.future for w in batch]
        callers = [w.caller for w in batch if w.caller is not None]
        weight = sum(w.weight for w in batch)
        started = time.perf_counter()
        try:
            with tracing.batch_span(self.trace_name, callers, {"batch.size": weight, "batch.callers": len(batch)}):
                results = self.run(PassBatch([w.item for w in batch], futures))
            if len(results) != len(batch):
                raise RuntimeError(f"pass returned {len(results)} results for {len(batch)} items")
        except PassAbandoned:
            return
        except Exception as exc:  # every caller learns why
            _settle(batch, None, exc, None)
            return
        seconds = time.perf_counter() - started
        on_pass = self.on_pass
        _settle(batch, results, None, (lambda: on_pass(weight, seconds)) if on_pass is not None else None)


def _settle(
    batch: list[_Waiting[Any, Any]],
    results: list[Any] | None,
    error: BaseException | None,
    report: Callable[[], None] | None,
) -> None:
    """Set every caller's future on its own loop: one ``call_soon_threadsafe`` per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for i, waiting in enumerate(batch):
        by_loop.setdefault(waiting.loop, []).append((waiting.future, results[i] if results is not None else None))

    def settle(pairs: list[tuple[asyncio.Future[Any], Any]], first: bool) -> None:
        if first and report is not None:
            report()
        for future, result in pairs:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    for n, (loop, pairs) in enumerate(by_loop.items()):
        try:
            loop.call_soon_threadsafe(settle, pairs, n == 0)
        except RuntimeError:  # that loop has closed: its callers are gone
            continue


class PassLoop(Executor):
    """One thread running passes for its :class:`PassQueue` s (and executor jobs), oldest waiting first.

    ``initializer`` runs first in the thread (PyTorch's intra-op thread count is per thread:
    :mod:`models.runtime`). The thread starts with the first item or job.
    """

    def __init__(self, name: str = "passes", initializer: Callable[[], None] | None = None) -> None:
        self.name = name
        self.initializer = initializer
        self.condition = threading.Condition()
        self._queues: list[PassQueue[Any, Any]] = []
        self._jobs: deque[_Job] = deque()
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def queue(
        self,
        run: Callable[[PassBatch[T]], list[R]],
        *,
        max_size: int = 32,
        max_pending: int | None = None,
        size: Callable[[T], int] | None = None,
        on_pass: Callable[[int, float], None] | None = None,
        trace_name: str = "pass",
    ) -> PassQueue[T, R]:
        """A queue whose batches ``run`` serves in this thread; ``on_pass(weight, seconds)`` is called on the
        callers' loop after each pass (a wait budget learns the pace there)."""
        made: PassQueue[T, R] = PassQueue(
            self, run, max_size=max_size, max_pending=max_pending, size=size, on_pass=on_pass, trace_name=trace_name
        )
        with self.condition:
            self._queues.append(made)
        return made

    def next_seq(self) -> int:
        return next(self._counter)

    def wake(self) -> None:
        """A new item or job waits (the lock held): start the thread if need be and tell it."""
        if self._closed:
            raise RuntimeError(f"{self.name}: the pass loop is shut down")
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        self.condition.notify()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """``fn(*args, **kwargs)`` in this thread, in its turn between passes."""
        job = _Job(self.next_seq(), lambda: fn(*args, **kwargs))
        with self.condition:
            self._jobs.append(job)
            self.wake()
        return job.future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self.condition:
            self._closed = True
            if cancel_futures:
                while self._jobs:
                    self._jobs.popleft().future.cancel()
            self.condition.notify_all()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _next(self) -> _Job | tuple[PassQueue[Any, Any], list[_Waiting[Any, Any]]] | None:
        """The oldest work (the lock held): a job, a queue's batch, or None when there is none."""
        best: tuple[int, PassQueue[Any, Any] | None] | None = None
        if self._jobs:
            best = (self._jobs[0].seq, None)
        for q in self._queues:
            seq = q.head_seq()
            if seq is not None and (best is None or seq < best[0]):
                best = (seq, q)
        if best is None:
            return None
        if best[1] is None:
            return self._jobs.popleft()
        return best[1], best[1].take()

    def _serve(self) -> None:
        if self.initializer is not None:
            self.initializer()
        while True:
            with self.condition:
                work = self._next()
                while work is None:
                    if self._closed:
                        return
                    self.condition.wait()
                    work = self._next()
            if isinstance(work, _Job):
                if work.future.set_running_or_notify_cancel():
                    try:
                        work.future.set_result(work.run())
                    except BaseException as exc:  # the job's caller learns why
                        work.future.set_exception(exc)
            else:
                queue, batch = work
                if batch:
                    queue.serve(batch)
