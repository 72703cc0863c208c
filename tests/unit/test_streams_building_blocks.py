"""Streams pieces that need no servers: contracts, ordering, micro-batching, body splitting."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.batching import MicroBatcher
from streams.ordering import KeyedSequencer
from streams.processors.behavior import step_label
from streams.schemas import CONSUMED, PUBLISHED, VoiceCallRecorded, json_schemas, main, misnamed
from streams.sources.http import split_body
from streams.sources.rabbitmq import GROUPS


def test_every_event_name_follows_the_convention_and_has_a_schema(tmp_path: Path) -> None:
    assert misnamed() == []
    schemas = json_schemas()
    assert set(schemas) == {"envelope", *CONSUMED, *PUBLISHED}
    assert schemas["social.twitter.mention"]["required"] == ["post_id", "brand", "text"]
    assert main(["--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "crm.sentiment.detected.schema.json").read_text())
    assert written["title"] == "crm.sentiment.detected"


def test_every_consumed_type_belongs_to_exactly_one_queue_group() -> None:
    routed = [t for types in GROUPS.values() for t in types]
    assert sorted(routed) == sorted(CONSUMED)


def test_recordings_need_exactly_one_valid_media_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        VoiceCallRecorded(call_id="c")
    with pytest.raises(ValidationError, match="exactly one"):
        VoiceCallRecorded(call_id="c", audio_path="a.wav", audio_b64="AAAA")
    with pytest.raises(ValidationError, match="base64"):
        VoiceCallRecorded(call_id="c", audio_b64="not base64!")
    assert VoiceCallRecorded(call_id="c", audio_b64=base64.b64encode(b"RIFF").decode()).call_id == "c"


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


def test_split_body_takes_one_envelope_or_an_array() -> None:
    one = b'{"type": "a.b.c"}'
    assert split_body(one) == [one]
    assert [json.loads(b) for b in split_body(b'[{"a": 1}, {"b": 2}]')] == [{"a": 1}, {"b": 2}]
    with pytest.raises(json.JSONDecodeError):
        split_body(b"{broken")


def test_journey_steps_keep_the_path_only() -> None:
    assert step_label("page_view", "https://shop.example/pricing?utm=x#top") == "page_view:/pricing"
    assert step_label("signup", None) == "signup"


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
    assert sizes[0] == 1 and max(sizes) >= 8 and sum(sizes) == 40


async def test_micro_batcher_refuses_past_max_pending_at_once() -> None:
    """A bounded wait: the item over the limit fails fast, the others are answered."""
    from streams.batching import BatcherFull

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
