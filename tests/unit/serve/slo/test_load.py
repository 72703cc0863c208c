"""The load drivers: open loop keeps its schedule whatever the answers do (no coordinated omission), closed loop
paces users by their think time, and HTTP/gRPC refusals carry their Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from serve.slo.load import (
    Outcome,
    Refused,
    arrivals,
    closed_loop_samples,
    http_outcome,
    latencies_and_errors,
    open_loop_samples,
)


async def test_a_stalled_answer_does_not_delay_the_requests_scheduled_after_it() -> None:
    sent_at: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def send(i: int) -> Outcome:
        sent_at.append(loop.time() - start)
        await asyncio.sleep(0.6 if i == 0 else 0.001)  # the first answer stalls
        return True

    samples = await open_loop_samples(send, rate=50, duration=1.0)
    assert len(samples) == 50
    assert max(abs(t - i / 50) for i, t in enumerate(sent_at)) < 0.1  # every request left on time
    first = next(s for s in samples if s.at_s == 0)
    assert first.latency_s >= 0.6  # the stall is measured, from the scheduled time


async def test_latency_counts_from_the_scheduled_time_when_the_driver_is_late() -> None:
    async def send(i: int) -> Outcome:
        await asyncio.sleep(0.05)
        return True

    samples = await open_loop_samples(send, rate=10, duration=0.5)
    assert all(s.latency_s >= 0.05 for s in samples)
    assert [round(s.at_s, 3) for s in samples] == [0.0, 0.1, 0.2, 0.3, 0.4]


async def test_requests_beyond_the_in_flight_cap_are_counted_as_not_sent() -> None:
    async def never_answers(i: int) -> Outcome:
        await asyncio.sleep(1.0)
        return True

    samples = await open_loop_samples(never_answers, rate=40, duration=0.5, max_in_flight=5)
    outcomes = [s.outcome for s in samples]
    assert outcomes.count("ok") == 5 and outcomes.count("not_sent") == 15
    assert latencies_and_errors(samples)[1] == 15


async def test_failures_and_exceptions_are_errors_refusals_are_refused() -> None:
    async def send(i: int) -> Outcome:
        if i % 3 == 0:
            raise ConnectionError("reset")
        return Refused(1.0) if i % 3 == 1 else False

    samples = await open_loop_samples(send, rate=30, duration=0.2)
    assert {s.outcome for s in samples} == {"error", "refused"}


async def test_closed_loop_users_think_between_requests() -> None:
    async def send(i: int) -> Outcome:
        return True

    samples = await closed_loop_samples(send, clients=4, duration=1.0, think_s=0.2)
    assert 12 <= len(samples) <= 36  # 4 users, one request per 0.1 to 0.3 s each


async def test_a_refused_user_waits_its_retry_after() -> None:
    async def send(i: int) -> Outcome:
        return Refused(0.5)

    samples = await closed_loop_samples(send, clients=1, duration=1.0)
    assert len(samples) == 2


def test_constant_and_poisson_arrivals() -> None:
    assert arrivals(4, 1.0) == [0.0, 0.25, 0.5, 0.75]
    poisson = arrivals(100, 10.0, poisson=True)
    assert 900 < len(poisson) < 1100 and poisson == sorted(poisson) and poisson[-1] < 10.0


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, {}, True),
        (503, {"retry-after": "2"}, Refused(2.0)),
        (429, {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, Refused(None)),
        (503, {}, Refused(None)),
        (500, {}, False),
        (201, {}, False),
    ],
)
def test_http_outcomes(status: int, headers: dict[str, str], expected: Outcome) -> None:
    assert http_outcome(status, headers) == expected


def test_created_counts_as_answered_where_the_caller_says_so() -> None:
    assert http_outcome(201, {}, ok=(200, 201)) is True
