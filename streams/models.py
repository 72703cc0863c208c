"""How processors reach the models: Ray Serve deployment handles, or the registry in-process.

:class:`ServeModels` calls the deployments of the running ``vettify`` Serve
application, so stream traffic shares their dynamic batching with HTTP and
gRPC traffic (DESIGN.md, *Data flow*). :class:`LocalModels` loads the same
registry models in this process (no Ray): for a script, a notebook, or the
benchmark's "raw model limit" baseline. Both return plain dicts/lists, the
shapes the deployments return.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from models.runtime import inference_executor, run_in

MODEL_APP = "vettify"


class ModelClient(Protocol):
    async def sentiment(self, texts: list[str]) -> list[dict[str, Any]]:
        """Per text: ``label``, ``score``, ``probabilities``, ``truncated``."""
        ...

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Per text: the L2-normalised 384-d vector."""
        ...

    async def voice(self, audio: bytes) -> dict[str, Any]: ...

    async def vision(self, media: bytes, kind: str, fps: float) -> dict[str, Any]: ...

    async def churn(self, rows: list[dict[str, float]]) -> list[dict[str, Any]]:
        """Per row: ``probability``, ``bucket``, ``top_contributions``."""
        ...

    @property
    def churn_version(self) -> str: ...


class ServeModels:
    """Deployment handles of the model application (from inside a replica, or a driver joined to Ray)."""

    def __init__(self, handles: dict[str, Any] | None = None, app_name: str = MODEL_APP) -> None:
        if handles is None:
            from ray import serve

            names = {
                "sentiment": "Sentiment",
                "embedding": "Embedding",
                "voice": "Voice",
                "vision": "Vision",
                "churn": "Churn",
            }
            handles = {key: serve.get_deployment_handle(name, app_name=app_name) for key, name in names.items()}
        self.handles = handles
        self._churn_version: str | None = None

    async def sentiment(self, texts: list[str]) -> list[dict[str, Any]]:
        batched = await self.handles["sentiment"].classify.remote(texts)
        return list(batched.value)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        batched = await self.handles["embedding"].embed.remote(texts)
        return [vector for vector, _truncated in batched.value]

    async def voice(self, audio: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self.handles["voice"].analyze.remote(audio)
        return result

    async def vision(self, media: bytes, kind: str, fps: float) -> dict[str, Any]:
        result: dict[str, Any] = await self.handles["vision"].analyze.remote(media, kind, fps)
        return result

    async def churn(self, rows: list[dict[str, float]]) -> list[dict[str, Any]]:
        if self._churn_version is None:
            self._churn_version = (await self.handles["churn"].ready.remote())["version"]
        batched = await self.handles["churn"].score.remote(rows)
        return list(batched.value)

    @property
    def churn_version(self) -> str:
        return self._churn_version or "churn"


class LocalModels:
    """The registry's models in this process; each loads on first use. CPU work runs in worker threads.

    Text passes (sentiment, embedding) share one inference thread that carries ``threads``
    (see :mod:`models.runtime`); recordings run in their own threads.
    """

    def __init__(self, artifacts_dir: Path | None = None, threads: int = 2) -> None:
        from models.registry import ModelOptions

        self.options = ModelOptions(threads=threads)
        self.text_pool = inference_executor(threads, "text-models")
        self.artifacts_dir = artifacts_dir
        self._loaded: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    async def _model(self, name: str) -> Any:
        async with self._lock:
            if name not in self._loaded:
                self._loaded[name] = await asyncio.to_thread(self._load, name)
            return self._loaded[name]

    def _load(self, name: str) -> Any:
        from models.registry import ModelOptions, registry

        if name == "churn":
            from models.churn.train import ensure_artifact

            folder = ensure_artifact(self.artifacts_dir or Path.home() / ".local/share/vettify/artifacts")
            return registry.load("churn", ModelOptions(model_path=folder))
        return registry.load(name, self.options)

    async def sentiment(self, texts: list[str]) -> list[dict[str, Any]]:
        from models.sentiment.classifier import classify

        model = await self._model("sentiment")
        return [asdict(s) for s in await run_in(self.text_pool, classify, model, texts)]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        model = await self._model("embedding")
        result = await run_in(self.text_pool, model.encode, texts)
        return [vector.tolist() for vector in result.vectors]

    async def voice(self, audio: bytes) -> dict[str, Any]:
        model = await self._model("voice")
        analysis = await asyncio.to_thread(model.analyze, audio)
        texts = [s.text for s in analysis.segments if s.text.strip()]
        if texts:
            scored = await self.sentiment([*texts, analysis.transcript])
            results = iter(scored)
            for segment in analysis.segments:
                if segment.text.strip():
                    segment.sentiment = next(results)
            analysis.overall_sentiment = scored[-1]
        return asdict(analysis)

    async def vision(self, media: bytes, kind: str, fps: float) -> dict[str, Any]:
        model = await self._model("vision")
        if kind == "image":
            analysis = await asyncio.to_thread(model.analyze_image, media)
        else:
            analysis = await asyncio.to_thread(model.analyze_video, media, fps)
        result: dict[str, Any] = analysis.as_dict()
        return result

    async def churn(self, rows: list[dict[str, float]]) -> list[dict[str, Any]]:
        model = await self._model("churn")
        return [asdict(score) for score in await asyncio.to_thread(model.score_batch, rows)]

    @property
    def churn_version(self) -> str:
        model = self._loaded.get("churn")
        return str(getattr(model, "version", "churn")) if model is not None else "churn"
