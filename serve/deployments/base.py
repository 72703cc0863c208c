"""What every model deployment shares: the readiness probe, batch bookkeeping and paced text batching.

Batching: the text models (sentiment, embedding) batch at the model's pace (continuous batching,
:class:`infra.batching.MicroBatcher` with one pass in flight): a call that finds the model idle runs at
once; calls arriving while a pass computes wait, and the next pass takes all of them (up to
``max_batch_size`` texts). ``@serve.batch`` forms a batch on its timer whether or not the model is free,
so an idle model still waited the full timeout (10 ms on a 5 ms bfloat16 pass), and a shorter timeout
split load into many small batches that queued behind each other (``benchmarks/results/``
``serve_models_batch_wait_2ms.json``). Churn keeps ``@serve.batch``: its rows are cheap and arrive in
bulk. Passes run in the replica's own inference thread (:mod:`models.runtime`: it carries the configured
PyTorch thread count, which Ray's ``OMP_NUM_THREADS=1`` would otherwise cut to one) so the event loop
keeps accepting calls while PyTorch/XGBoost compute (both release the GIL). Every result carries the size
of the batch it ran in, so the gateway can export batch-size histograms.

Scaling knobs (replicas, CPUs, queue limits, batch sizes) are defaults in each deployment's module and are
overridden per deployment from ``cluster/serve_config.yaml`` or :func:`serve.application.build`; the code
never assumes one replica.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from ray import serve
from ray.serve.handle import DeploymentHandle

from infra.admission import WaitBudget
from infra.batching import MicroBatcher
from models.precision import Precision
from models.registry import ModelOptions, registry
from models.runtime import inference_executor, run_in
from models.text.encoder_runtime import Runtime

TEXT_BATCH_TEXTS = 32  # texts per pass: 70 ms in bfloat16, 250-450 ms in float32 on 2 cores; every caller in it waits


TextBatching = Literal["paced", "sized", "serve_batch"]
"""``paced``: :class:`~infra.batching.MicroBatcher`, one pass in flight, the next takes every call that waited.
``sized``: the same, each pass as large as answers the waiting calls soonest on average at the pace measured
(:meth:`~infra.admission.WaitBudget.pass_size`; needs the wait budget, else ``paced``).
``serve_batch``: Ray's ``@serve.batch`` with no wait and batches weighed by their texts (measured beside it in
``benchmarks/serve_models.py --text-batching paced serve_batch``)."""


def texts_in(calls: list[list[str]]) -> int:
    """A ``@serve.batch`` batch's size in texts (each call carries a list of texts)."""
    return sum(len(call) for call in calls)


T = TypeVar("T")

Handle = DeploymentHandle[Any]
"""A bound deployment's handle, as Serve passes it to the deployments that call it."""


@dataclass(frozen=True)
class Batched(Generic[T]):
    """One caller's share of a batched model pass."""

    value: list[T]
    batch_items: int  # items (texts, rows) in the whole pass
    model_version: str = ""  # the model that computed it (a rolling update serves two for a while)


def flatten(calls: list[list[Any]]) -> tuple[list[Any], list[int]]:
    items: list[Any] = []
    sizes = []
    for call in calls:
        items.extend(call)
        sizes.append(len(call))
    return items, sizes


def split(values: list[T], sizes: list[int], model_version: str, pass_items: int | None = None) -> list[Batched[T]]:
    out, start = [], 0
    for size in sizes:
        out.append(Batched(values[start : start + size], pass_items or len(values), model_version))
        start += size
    return out


def as_path(value: str | None) -> Path | None:
    return Path(value) if value else None


class ReadyProbe:
    """The readiness probe every deployment answers: its model's name and version."""

    name = "model"
    version = "?"

    async def ready(self) -> dict[str, str]:
        return {"model": self.name, "version": self.version}


class BatchedModel(ReadyProbe):
    """Batched models: the readiness probe, tunable batching and a health check."""

    def reconfigure(self, config: dict[str, Any]) -> None:
        """``user_config``: ``max_batch_size`` and ``batch_wait_timeout_s`` change without a restart."""
        method = self._run_batch  # type: ignore[attr-defined]
        if "max_batch_size" in config:
            method.set_max_batch_size(int(config["max_batch_size"]))
        if "batch_wait_timeout_s" in config:
            method.set_batch_wait_timeout_s(float(config["batch_wait_timeout_s"]))

    def check_health(self) -> None:
        if getattr(self, "model", None) is None:
            raise RuntimeError(f"{self.name}: model not loaded")


class TextModel(BatchedModel, Generic[T]):
    """A text model batched at its own pace (or by ``@serve.batch``: :data:`TextBatching`), loaded from the
    registry under its ``name``.

    The same object serves in two places: inside its own deployment (in-cluster callers: stream processors,
    voice, summaries) and inside the gateway replica (HTTP and gRPC callers, :mod:`serve.hosted_text`), where
    a request reaches the model without another process hop. ``pool`` shares one inference thread between
    models in one process (passes are CPU-bound; two at once only share the cores). ``max_queue_wait_s``
    refuses a call that would wait longer than that behind admitted work (:class:`~infra.admission.WaitBudget`);
    ``None`` admits everything up to the deployment's request queue (bulk callers want throughput).
    """

    def __init__(
        self,
        model_path: str | None = None,
        threads: int = 1,
        batching: TextBatching = "paced",
        dtype: Precision = "auto",
        runtime: Runtime = "auto",
        *,
        pool: ThreadPoolExecutor | None = None,
        max_queue_wait_s: float | None = None,
    ) -> None:
        options = ModelOptions(model_path=as_path(model_path), threads=threads, dtype=dtype, runtime=runtime)
        self.model = registry.load(self.name, options)
        self.version = self._version()
        self.pool = pool or inference_executor(threads, self.name)
        self.budget = WaitBudget(max_queue_wait_s, max_batch=TEXT_BATCH_TEXTS) if max_queue_wait_s else None
        self._start_batching(batching)
        self._warm_up()

    def _warm_up(self) -> None:
        """A cold pass, then one text and a full batch timed: the first caller does not pay the model's
        first-pass set-up, and the wait budget knows the pace before the first burst."""
        text = "Warm-up: the first pass of a freshly loaded model allocates what later passes reuse."
        self.pool.submit(self._score, [text]).result()
        for size in (1, TEXT_BATCH_TEXTS):
            started = time.perf_counter()
            self.pool.submit(self._score, [text] * size).result()
            if self.budget is not None:
                self.budget.observe(size, time.perf_counter() - started)

    def _version(self) -> str:
        return registry.spec(self.name).version

    def _score(self, texts: list[str]) -> list[T]:
        """One pass over ``texts`` (in the inference thread), one result per text."""
        raise NotImplementedError

    def _start_batching(self, batching: TextBatching = "paced") -> None:
        self.batching = batching
        self.batcher: MicroBatcher[list[str], Batched[T]] = MicroBatcher(
            self._run_batch,
            max_size=TEXT_BATCH_TEXTS,
            max_wait_s=0.0,
            max_in_flight=1,
            size=len,
            limit=self._pass_size if batching == "sized" else None,
            trace_name=f"{type(self).__name__} pass",
        )

    def _pass_size(self, waiting: int) -> int:
        return self.budget.pass_size(waiting) if self.budget is not None else self.batcher.max_size

    async def _submit(self, texts: list[str]) -> Batched[T]:
        if self.budget is not None:
            self.budget.admit(len(texts))  # AtCapacity at once when the wait would pass the budget
        try:
            if self.batching == "serve_batch":
                return await self._serve_batched(texts)
            return await self.batcher.submit(texts)
        finally:
            if self.budget is not None:
                self.budget.release(len(texts))

    @serve.batch(max_batch_size=TEXT_BATCH_TEXTS, batch_wait_timeout_s=0.0, batch_size_fn=texts_in)
    async def _serve_batched(self, calls: list[list[str]]) -> list[Batched[T]]:
        return await self._run_batch(calls)

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched[T]]:
        """The calls' texts in passes of at most ``max_batch_size``: one call of 256 texts is eight passes,
        and a call abandoned by its caller (cancelled) stops after the pass under way, not after all eight."""
        texts, sizes = flatten(calls)
        step = max(1, self.batcher.max_size)
        values: list[T] = []
        for start in range(0, len(texts), step):
            chunk = texts[start : start + step]
            started = time.perf_counter()
            values.extend(await run_in(self.pool, self._score, chunk))
            if self.budget is not None:
                self.budget.observe(len(chunk), time.perf_counter() - started)
        return split(values, sizes, self.version, min(len(texts), step))

    def reconfigure(self, config: dict[str, Any]) -> None:
        """``user_config``: ``max_batch_size`` (texts per pass), ``batch_wait_timeout_s`` (how long a call
        that finds the model idle waits for company; 0 by default) and ``max_queue_wait_s`` (0: no limit)
        change without a restart."""
        if "max_batch_size" in config:
            self.batcher.max_size = int(config["max_batch_size"])
            if self.budget is not None:
                self.budget.max_batch = self.batcher.max_size
        if "batch_wait_timeout_s" in config:
            self.batcher.max_wait_s = float(config["batch_wait_timeout_s"])
        if "max_queue_wait_s" in config:
            wait = float(config["max_queue_wait_s"] or 0)
            self.budget = WaitBudget(wait, max_batch=self.batcher.max_size) if wait > 0 else None


def text_deployment(name: str, service: type[TextModel[Any]]) -> Any:
    """The Serve deployment of a text model: sentiment and embedding share one size and one load profile
    (the in-cluster callers'), so one set of options serves both."""
    return serve.deployment(
        name=name,
        ray_actor_options={"num_cpus": 0.3},
        max_ongoing_requests=64,
        max_queued_requests=128,
        autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
        health_check_period_s=10,
        graceful_shutdown_timeout_s=20,
    )(service)
