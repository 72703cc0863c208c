"""Unit tests of ``streams.ordering``."""

from __future__ import annotations

import asyncio

from streams.ordering import KeyedSequencer


async def test_sequencer_commits_each_key_in_arrival_order_but_keys_run_independently() -> None:
    sequencer = KeyedSequencer()
    order: list[str] = []

    async def work(key: str, name: str, delay: float) -> None:
        ticket = sequencer.reserve(key)  # reserved on arrival, before any await
        try:
            await asyncio.sleep(delay)  # "inference": later arrivals may finish first
            await ticket.wait()
            order.append(name)
        finally:
            ticket.release()

    await asyncio.gather(work("a", "a1", 0.05), work("a", "a2", 0.0), work("b", "b1", 0.01), work("a", "a3", 0.02))
    assert [n for n in order if n.startswith("a")] == ["a1", "a2", "a3"]
    assert order.index("b1") < order.index("a1")  # b never waited for a
    assert len(sequencer) == 0


async def test_sequencer_moves_on_when_an_earlier_event_fails() -> None:
    sequencer = KeyedSequencer()
    first, second = sequencer.reserve("k"), sequencer.reserve("k")
    first.release()  # failed and released without writing
    await asyncio.wait_for(second.wait(), timeout=1)
    second.release()
