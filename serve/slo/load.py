"""Load drivers shared by ``vettify slo`` and ``benchmarks/``: open loop (constant or Poisson arrivals, latency
counted from each request's *scheduled* time, so a slow answer cannot hold back the next request — no
coordinated omission, as k6's constant-arrival-rate and vegeta do) and closed loop (N clients with think time,
as Locust users do), plus the HTTP and gRPC outcome rules both use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Refused:
    """Back-pressure: the server refused the request and said when to come back."""

    retry_after_s: float | None  # None: no Retry-After came with it


Outcome = bool | Refused  # True: answered; False: failed otherwise
Send = Callable[[int], Awaitable[Outcome]]  # sends the i-th request
Kind = Literal["ok", "refused", "error", "not_sent"]


@dataclass(frozen=True)
class Sample:
    """One request: when it was due (seconds from the run's start), how long until its answer, and what came."""

    at_s: float
    latency_s: float
    outcome: Kind


def kind_of(outcome: Outcome) -> Kind:
    if outcome is True:
        return "ok"
    return "refused" if isinstance(outcome, Refused) else "error"


def http_outcome(status: int, headers: Mapping[str, str], ok: tuple[int, ...] = (200,)) -> Outcome:
    """An HTTP answer's outcome (any client's status and case-insensitive headers)."""
    if status in ok:
        return True
    if status in (429, 503):
        return refused(headers.get("retry-after"))
    return False


def refused(retry_after: str | None) -> Refused:
    try:
        return Refused(float(retry_after) if retry_after else None)
    except ValueError:  # an HTTP date instead of seconds
        return Refused(None)


def arrivals(rate: float, duration: float, *, poisson: bool = False, seed: int = 7) -> list[float]:
    """Scheduled send times in ``[0, duration)``: every ``1/rate`` s, or Poisson arrivals at ``rate``."""
    if poisson:
        gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=int(rate * duration * 2) + 16)
        offsets = np.cumsum(gaps)
        return [float(t) for t in offsets[offsets < duration]]
    return [i / rate for i in range(int(rate * duration))]


async def open_loop_samples(
    send: Send,
    rate: float,
    duration: float,
    *,
    poisson: bool = False,
    seed: int = 7,
    max_in_flight: int = 2000,
    progress: Callable[[float, int, int], None] | None = None,
) -> list[Sample]:
    """Sends at the scheduled times whatever the answers do; each latency runs from the request's due time.

    A request due while ``max_in_flight`` are still unanswered is not sent and counts as ``not_sent``: the
    target fell that far behind, which is a failure to meet the rate, not the driver's to hide.
    ``progress(elapsed_s, sent, answered)`` is called about once a second.
    """
    samples: list[Sample] = []
    in_flight = 0
    start = time.perf_counter()

    async def request(i: int, at: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            outcome = await send(i)
        except Exception:  # a transport failure is this request's error, never the run's
            outcome = False
        finally:
            in_flight -= 1
        samples.append(Sample(at, time.perf_counter() - (start + at), kind_of(outcome)))

    tasks: list[asyncio.Task[None]] = []
    reported = 0.0
    for i, at in enumerate(arrivals(rate, duration, poisson=poisson, seed=seed)):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            samples.append(Sample(at, 0.0, "not_sent"))
        else:
            tasks.append(asyncio.ensure_future(request(i, at)))
        if progress is not None and at - reported >= 1.0:
            reported = at
            progress(at, len(tasks), len(samples))
    await asyncio.gather(*tasks)
    return sorted(samples, key=lambda s: s.at_s)


async def closed_loop_samples(
    send: Send, clients: int, duration: float, *, think_s: float = 0.0, seed: int = 7
) -> list[Sample]:
    """``clients`` users, each sending its next request ``think_s`` (±50 %, seeded) after its last answer.

    A refused user waits the ``Retry-After`` it was given before its next request, as a well-behaved client
    does (an instant retry would turn back-pressure into a busy loop).
    """
    samples: list[Sample] = []
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    deadline = start + duration

    async def user(offset: int) -> None:
        i = offset
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                outcome = await send(i)
            except Exception:
                outcome = False
            samples.append(Sample(sent - start, time.perf_counter() - sent, kind_of(outcome)))
            pause = think_s * float(rng.uniform(0.5, 1.5)) if think_s else 0.0
            if isinstance(outcome, Refused):
                pause = max(pause, outcome.retry_after_s or 1.0)
            if pause:
                await asyncio.sleep(min(pause, max(deadline - time.perf_counter(), 0.0)))
            i += clients

    await asyncio.gather(*(user(k) for k in range(clients)))
    return sorted(samples, key=lambda s: s.at_s)


def latencies_and_errors(samples: list[Sample]) -> tuple[list[float], int]:
    """The benchmarks' summary: latencies of the answered requests and the count of the rest."""
    return [s.latency_s for s in samples if s.outcome == "ok"], sum(1 for s in samples if s.outcome != "ok")


GRPC_METHODS = {"sentiment": ("Sentiment", "SentimentRequest"), "embedding": ("Embed", "EmbedRequest")}


def grpc_text_call(channel: Any, model: str, application: str = "vettify") -> Callable[[list[str]], Awaitable[Outcome]]:
    """Calls a text model's gRPC method (``protos/inference.proto``) on ``channel``; RESOURCE_EXHAUSTED is a refusal
    with the ``retry-after`` trailer it carried."""
    import grpc

    from protos import inference_pb2 as pb
    from protos.inference_pb2_grpc import AnalyticsStub

    method_name, request_name = GRPC_METHODS[model]
    method = getattr(AnalyticsStub(channel), method_name)  # type: ignore[no-untyped-call]
    request_type = getattr(pb, request_name)
    metadata = (("application", application),)

    async def call(texts: list[str]) -> Outcome:
        try:
            await method(request_type(texts=texts), metadata=metadata)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                return refused(dict(error.trailing_metadata() or ()).get("retry-after"))
            return False
        return True

    return call
