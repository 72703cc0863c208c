"""Unit tests of ``infra.pass_loop``: batches formed by the inference thread itself."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from infra.batching import BatcherFull
from infra.pass_loop import PassAbandoned, PassBatch, PassLoop


def doubling(seen: list[list[int]], delay_s: float = 0.0):  # type: ignore[no-untyped-def]
    def run(batch: PassBatch[int]) -> list[int]:
        seen.append(list(batch.items))
        time.sleep(delay_s)
        return [2 * i for i in batch.items]

    return run


async def test_the_next_batch_is_what_arrived_during_the_pass() -> None:
    seen: list[list[int]] = []
    loop = PassLoop("test")
    queue = loop.queue(doubling(seen, 0.05))
    first = asyncio.ensure_future(queue.submit(1))
    await asyncio.sleep(0.01)  # the thread took item 1 alone and is in its pass
    rest = [asyncio.ensure_future(queue.submit(i)) for i in (2, 3, 4)]
    assert await asyncio.gather(first, *rest) == [2, 4, 6, 8]
    assert seen == [[1], [2, 3, 4]]
    assert queue.batch_sizes == [1, 3]
    loop.shutdown()


async def test_callers_are_weighed_by_size_and_a_batch_takes_at_least_one() -> None:
    seen: list[list[list[str]]] = []

    def run(batch: PassBatch[list[str]]) -> list[int]:
        seen.append(list(batch.items))
        time.sleep(0.03)
        return [len(call) for call in batch.items]

    loop = PassLoop("test")
    queue = loop.queue(run, max_size=4, size=len)
    first = asyncio.ensure_future(queue.submit(["a"]))
    await asyncio.sleep(0.01)
    calls = (["b", "c"], ["d", "e"], ["f"] * 6, ["g"])
    rest = [asyncio.ensure_future(queue.submit(call)) for call in calls]
    assert await asyncio.gather(first, *rest) == [1, 2, 2, 6, 1]
    assert [sum(len(c) for c in batch) for batch in seen] == [1, 4, 6, 1]
    loop.shutdown()


async def test_a_failed_pass_fails_its_callers_only() -> None:
    def run(batch: PassBatch[int]) -> list[int]:
        if 13 in batch.items:
            raise ValueError("unlucky")
        return batch.items

    loop = PassLoop("test")
    queue = loop.queue(run)
    with pytest.raises(ValueError, match="unlucky"):
        await queue.submit(13)
    assert await queue.submit(7) == 7
    loop.shutdown()


async def test_a_pass_returning_the_wrong_count_is_an_error_for_its_callers() -> None:
    loop = PassLoop("test")
    queue = loop.queue(lambda batch: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await queue.submit(1)
    loop.shutdown()


async def test_a_cancelled_caller_that_still_waits_is_never_passed() -> None:
    seen: list[list[int]] = []
    loop = PassLoop("test")
    queue = loop.queue(doubling(seen, 0.05))
    first = asyncio.ensure_future(queue.submit(1))
    await asyncio.sleep(0.01)
    gone = asyncio.ensure_future(queue.submit(2))
    kept = asyncio.ensure_future(queue.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    assert await asyncio.gather(first, kept) == [2, 6]
    assert seen == [[1], [3]]
    loop.shutdown()


async def test_a_chunked_pass_stops_once_every_caller_has_gone() -> None:
    chunks: list[int] = []
    started = threading.Event()

    def run(batch: PassBatch[int]) -> list[int]:
        for chunk in range(8):
            if chunk and batch.abandoned():
                raise PassAbandoned
            chunks.append(chunk)
            started.set()
            time.sleep(0.02)
        return batch.items

    loop = PassLoop("test")
    queue = loop.queue(run)
    call = asyncio.ensure_future(queue.submit(1))
    await asyncio.to_thread(started.wait, 1)
    call.cancel()
    await asyncio.sleep(0.1)
    assert 0 < len(chunks) < 8
    assert await loop.queue(lambda b: b.items).submit(5) == 5  # the thread is free again
    loop.shutdown()


async def test_past_max_pending_a_submit_is_refused_at_once() -> None:
    loop = PassLoop("test")
    queue = loop.queue(doubling([], 0.1), max_pending=2)
    running = asyncio.ensure_future(queue.submit(0))
    await asyncio.sleep(0.02)
    waiting = [asyncio.ensure_future(queue.submit(i)) for i in (1, 2)]
    await asyncio.sleep(0)
    with pytest.raises(BatcherFull):
        await queue.submit(3)
    assert await asyncio.gather(running, *waiting) == [0, 2, 4]
    loop.shutdown()


async def test_passes_and_jobs_share_one_thread_oldest_first() -> None:
    threads: list[str] = []
    order: list[str] = []
    loop = PassLoop("shared", initializer=lambda: threads.append(threading.current_thread().name))

    def run_named(name: str):  # type: ignore[no-untyped-def]
        def run(batch: PassBatch[int]) -> list[int]:
            threads.append(threading.current_thread().name)
            order.append(f"{name}{batch.items}")
            time.sleep(0.03)
            return batch.items

        return run

    sentiment, embedding = loop.queue(run_named("s")), loop.queue(run_named("e"))
    first = asyncio.ensure_future(sentiment.submit(0))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(embedding.submit(1))]
    await asyncio.sleep(0)
    job = loop.submit(lambda: order.append("job") or "done")
    later.append(asyncio.ensure_future(sentiment.submit(2)))
    assert await asyncio.gather(first, *later) == [0, 1, 2]
    assert await asyncio.wrap_future(job) == "done"
    assert order == ["s[0]", "e[1]", "job", "s[2]"]
    assert set(threads) == {"shared"}
    loop.shutdown()


async def test_on_pass_reports_each_pass_on_the_callers_loop() -> None:
    reports: list[tuple[int, float, bool]] = []
    here = threading.current_thread()

    def on_pass(weight: int, seconds: float) -> None:
        reports.append((weight, seconds, threading.current_thread() is here))

    loop = PassLoop("test")
    queue = loop.queue(doubling([], 0.01), size=lambda item: item, max_size=100, on_pass=on_pass)
    assert await queue.submit(5) == 10
    await asyncio.sleep(0)
    weight, seconds, on_loop = reports[0]
    assert (weight, on_loop) == (5, True)
    assert seconds >= 0.01
    loop.shutdown()


async def test_after_shutdown_nothing_more_is_taken() -> None:
    loop = PassLoop("test")
    queue = loop.queue(doubling([]))
    assert await queue.submit(1) == 2
    loop.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        await queue.submit(2)
    with pytest.raises(RuntimeError, match="shut down"):
        loop.submit(print)
