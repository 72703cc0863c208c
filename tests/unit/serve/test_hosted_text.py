"""serve.hosted_text: the gateway's own text models batch their callers and shed a burst at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from infra.errors import AtCapacity, InvalidInput
from serve.hosted_text import HostedText, HostedTextOptions

pytestmark = pytest.mark.slow  # loads both MiniLM models


@pytest.fixture(scope="module")
def hosted() -> HostedText:
    return HostedText(HostedTextOptions(threads=1, max_queue_wait_s=0.5))


async def test_the_models_know_their_pace_before_the_first_request(hosted: HostedText) -> None:
    for service in (hosted.sentiment, hosted.embedding):
        assert service.budget is not None
        per_pass, per_item = service.budget.cost()
        assert per_item > 0 and per_pass >= 0
    assert (await hosted.ready())["sentiment"]["version"] == hosted.sentiment.version


async def test_concurrent_callers_share_passes_and_each_gets_its_own_answer(hosted: HostedText) -> None:
    texts = [f"I love this product, order {i}" if i % 2 else f"Terrible support, refund {i} now" for i in range(12)]
    results = await asyncio.gather(*(hosted.sentiment.classify([t]) for t in texts))
    assert [r.value[0].label for r in results] == ["positive" if i % 2 else "negative" for i in range(12)]
    assert max(r.batch_items for r in results) > 1  # callers that arrived during a pass shared the next one
    vectors = await hosted.embedding.embed(["one", "two"])
    assert [len(v.vector) for v in vectors.value] == [384, 384]


async def test_a_burst_beyond_the_budget_is_refused_at_once_and_the_admitted_are_answered(
    hosted: HostedText,
) -> None:
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(hosted.sentiment.classify([f"burst text {i}, quite a long one about pricing"]) for i in range(400)),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, AtCapacity)]
    answered = [a for a in answers if not isinstance(a, BaseException)]
    assert refused and answered and len(refused) + len(answered) == 400
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert time.perf_counter() - started < 5  # only what fits the 0.5 s budget was computed
    assert hosted.sentiment.budget is not None and hosted.sentiment.budget.admitted == 0  # all released


async def test_a_bad_text_fails_only_its_own_call(hosted: HostedText) -> None:
    good, bad = await asyncio.gather(
        hosted.embedding.embed(["fine"]), hosted.embedding.embed(["  "]), return_exceptions=True
    )
    assert not isinstance(good, BaseException) and len(good.value) == 1
    assert isinstance(bad, InvalidInput)
