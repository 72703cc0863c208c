"""Unit tests of ``infra.batching``."""

from __future__ import annotations

import asyncio

import pytest

from infra.batching import MicroBatcher


async def test_micro_batcher_gathers_concurrent_items_and_shares_failures() -> None:
    calls: list[list[int]] = []

    async def double(items: list[int]) -> list[int]:
        calls.append(items)
        if 13 in items:
            raise ValueError("unlucky batch")
        return [2 * i for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(double, max_size=4, max_wait_s=0.01)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(6))) == [0, 2, 4, 6, 8, 10]
    assert [len(c) for c in calls] == [4, 2]
    calls.clear()
    results = await asyncio.gather(batcher.submit(13), batcher.submit(1), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


async def test_micro_batcher_grows_batches_while_calls_are_in_flight() -> None:
    """Items arriving one at a time during a slow call are taken together by the next call."""
    sizes: list[int] = []

    async def slow(items: list[int]) -> list[int]:
        sizes.append(len(items))
        await asyncio.sleep(0.05)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(slow, max_size=32, max_wait_s=0.001, max_in_flight=1)

    async def trickle(i: int) -> int:
        await asyncio.sleep(i * 0.004)  # one item every 4 ms, like acks freeing prefetch slots
        return await batcher.submit(i)

    assert await asyncio.gather(*(trickle(i) for i in range(40))) == list(range(40))
    # The first call takes what had arrived (one item, or a few on a loaded machine); later calls take more.
    assert sizes[0] < max(sizes) and max(sizes) >= 8 and sum(sizes) == 40


async def test_a_limit_sizes_each_batch_from_what_waits() -> None:
    """With ``limit``, the next batch takes what the limit allows of the waiting items, in arrival order, and
    the rest follow in later batches; the earliest callers are answered first."""
    seen: list[tuple[int, list[int]]] = []
    answered: list[int] = []

    async def slow(items: list[int]) -> list[int]:
        seen.append((batcher.pending + len(items), items))
        await asyncio.sleep(0.02)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(
        slow, max_size=32, max_wait_s=0.0, max_in_flight=1, limit=lambda waiting: 2 if waiting >= 4 else 1
    )

    async def one(i: int) -> None:
        answered.append(await batcher.submit(i))

    first = asyncio.ensure_future(one(0))
    await asyncio.sleep(0.005)  # the first item's batch is running: six more wait behind it
    await asyncio.gather(first, *(one(i) for i in range(1, 7)))
    assert [items for _, items in seen] == [[0], [1, 2], [3, 4], [5], [6]]
    assert [waiting for waiting, _ in seen] == [1, 6, 4, 2, 1]
    assert answered == list(range(7))


async def test_micro_batcher_refuses_past_max_pending_at_once() -> None:
    """A bounded wait: the item over the limit fails fast, the others are answered."""
    from infra.batching import BatcherFull

    release = asyncio.Event()

    async def blocked(items: list[int]) -> list[int]:
        await release.wait()
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(
        blocked, max_size=2, max_wait_s=0.001, max_in_flight=1, max_pending=3
    )
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)  # the first item is in flight; the next ones wait
    waiting = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2, 3)]
    await asyncio.sleep(0)
    with pytest.raises(BatcherFull):
        await batcher.submit(4)
    release.set()
    assert await first == 0
    assert await asyncio.gather(*waiting) == [1, 2, 3]


async def test_micro_batcher_weighs_callers_by_their_size() -> None:
    """Callers bringing several texts count as that many toward max_size; an oversized one still runs alone."""
    seen: list[list[list[str]]] = []
    release = asyncio.Event()

    async def run(calls: list[list[str]]) -> list[int]:
        seen.append(calls)
        await release.wait()
        return [len(call) for call in calls]

    batcher: MicroBatcher[list[str], int] = MicroBatcher(run, max_size=4, max_wait_s=0.0, max_in_flight=1, size=len)
    first = asyncio.ensure_future(batcher.submit(["a"]))
    await asyncio.sleep(0.01)  # in flight: the next callers wait
    rest = [asyncio.ensure_future(batcher.submit(call)) for call in (["b", "c"], ["d", "e"], ["f"] * 6, ["g"])]
    await asyncio.sleep(0)
    assert batcher.pending == 4
    release.set()
    assert await first == 1
    assert await asyncio.gather(*rest) == [2, 2, 6, 1]
    assert [[len(call) for call in calls] for calls in seen] == [[1], [2, 2], [6], [1]]
    assert batcher.batch_sizes == [1, 4, 6, 1]


async def test_a_batch_whose_callers_all_went_away_is_cancelled_and_their_waiting_items_dropped() -> None:
    """A cancelled caller (deadline passed) costs no more model time: nobody would read the result."""
    started: list[list[int]] = []
    finished: list[list[int]] = []

    async def slow(items: list[int]) -> list[int]:
        started.append(items)
        await asyncio.sleep(0.2)
        finished.append(items)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(slow, max_size=2, max_wait_s=0.0, max_in_flight=1)
    running = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    running.cancel()
    waiting.cancel()
    await asyncio.sleep(0.01)
    assert await batcher.submit(3) == 3
    assert started == [[1], [3]]
    assert finished == [[3]]


async def test_a_batch_keeps_running_while_one_of_its_callers_still_waits() -> None:
    async def slow(items: list[int]) -> list[int]:
        await asyncio.sleep(0.05)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(slow, max_size=4, max_wait_s=0.01, max_in_flight=1)
    gone = asyncio.ensure_future(batcher.submit(1))
    stays = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.02)
    gone.cancel()
    assert await stays == 2
