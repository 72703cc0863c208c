"""The text models inside the gateway replica: an HTTP or gRPC text request reaches the model in one process.

Through a model deployment, one text cost three processes (Serve's proxy, the gateway, the model replica),
two pickling round trips and a caller-side micro-batch wait; on 2 cores the proxy and the gateway spent more
CPU per answer than the model (``benchmarks/results/serve_models_typed_results.json``). Hosted here, the
gateway batches its callers at the model's pace itself (:class:`~serve.deployments.base.TextModel`, no timer)
and refuses, at once and with ``Retry-After``, a request that would wait longer than ``max_queue_wait_s``
behind the ones admitted (:class:`~infra.admission.WaitBudget`): a burst beyond capacity is shed instead of
queueing for seconds.

The Sentiment and Embedding deployments stay for the in-cluster callers (stream processors, voice,
summaries): bulk work that wants throughput, scaled on its own, never queued in front of a dashboard's
request. ``AppArgs.text_models_in_gateway=False`` sends HTTP/gRPC text calls to them as well (a smaller
gateway, one more hop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from infra.admission import DEFAULT_MAX_WAIT_S
from models.precision import Precision
from models.runtime import inference_executor
from models.text.encoder_runtime import Runtime
from serve.deployments.base import TextBatching
from serve.deployments.embedding import EmbeddingService
from serve.deployments.sentiment import SentimentService


@dataclass(frozen=True)
class HostedTextOptions:
    """How the gateway loads its text models (the builder's choices, as for the deployments)."""

    sentiment_model_path: str | None = None
    embedding_model_path: str | None = None
    threads: int = 1
    dtype: Precision = "auto"
    runtime: Runtime = "auto"
    max_queue_wait_s: float = DEFAULT_MAX_WAIT_S
    batching: TextBatching = "paced"


S = TypeVar("S", SentimentService, EmbeddingService)


class HostedText:
    """Sentiment and embedding in this process, sharing one inference thread (one pass at a time)."""

    def __init__(self, options: HostedTextOptions) -> None:
        pool = inference_executor(options.threads, "gateway-text")

        def load(service: type[S], model_path: str | None) -> S:
            return service(
                model_path,
                options.threads,
                batching=options.batching,
                dtype=options.dtype,
                runtime=options.runtime,
                pool=pool,
                max_queue_wait_s=options.max_queue_wait_s,
            )

        self.sentiment = load(SentimentService, options.sentiment_model_path)
        self.embedding = load(EmbeddingService, options.embedding_model_path)

    async def ready(self) -> dict[str, dict[str, str]]:
        return {"sentiment": await self.sentiment.ready(), "embedding": await self.embedding.ready()}
