"""How processors reach the models: Ray Serve deployment handles, or the registry in-process.

:class:`ServeModels` calls the deployments of the running ``vettify`` Serve
application, so stream traffic shares their dynamic batching with HTTP and
gRPC traffic.
"""

from __future__ import annotations

from typing import Any, Protocol

from models.churn.model import ChurnScore
from models.embeddings.encoder import Passage
from models.sentiment.classifier import Sentiment
from models.text.aspects import AspectMention
from models.vision.analyzer import VisionAnalysis
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis

MODEL_APP = "vettify"


class ModelClient(Protocol):
    async def sentiment(self, texts: list[str]) -> list[Sentiment]: ...

    async def aspects(self, texts: list[str]) -> list[list[AspectMention]]:
        """Per text: its sentences about price, quality, support, … each with its own sentiment."""
        ...

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Per text: the L2-normalised 384-d vector."""
        ...

    async def passages(self, text: str) -> list[Passage]:
        """A long text's chunks with their vectors (their weighted mean is the text's vector)."""
        ...

    async def voice(self, audio: bytes, options: AnalyzeOptions | None = None) -> VoiceAnalysis: ...

    async def vision(self, media: bytes, kind: str, fps: float) -> VisionAnalysis: ...

    async def churn(self, rows: list[dict[str, float]]) -> list[ChurnScore]: ...

    @property
    def churn_version(self) -> str: ...

    async def model_info(self, kind: str) -> tuple[str, str]:
        """The model name and version behind ``kind`` (sentiment, embedding, voice, vision, churn), for the
        decision records."""
        ...


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
        self._info: dict[str, tuple[str, str]] = {}
        self._served: dict[str, str] = {}  # the version each batched answer named (a rolling update serves two)

    async def model_info(self, kind: str) -> tuple[str, str]:
        if kind not in self._info:
            ready = await self.handles[kind].ready.remote()
            self._info[kind] = (str(ready["model"]), str(ready["version"]))
        name, version = self._info[kind]
        return name, self._served.get(kind) or version

    async def sentiment(self, texts: list[str]) -> list[Sentiment]:
        batched = await self.handles["sentiment"].classify.remote(texts)
        self._served["sentiment"] = batched.model_version
        return list(batched.value)

    async def aspects(self, texts: list[str]) -> list[list[AspectMention]]:
        batched = await self.handles["sentiment"].aspects.remote(texts)
        return list(batched.value)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        batched = await self.handles["embedding"].embed.remote(texts)
        self._served["embedding"] = batched.model_version
        return [row.vector for row in batched.value]

    async def passages(self, text: str) -> list[Passage]:
        found: list[Passage] = await self.handles["embedding"].passages.remote(text)
        return found

    async def voice(self, audio: bytes, options: AnalyzeOptions | None = None) -> VoiceAnalysis:
        result: VoiceAnalysis = await self.handles["voice"].analyze.remote(audio, options)
        return result

    async def vision(self, media: bytes, kind: str, fps: float) -> VisionAnalysis:
        result: VisionAnalysis = await self.handles["vision"].analyze.remote(media, kind, fps)
        return result

    async def churn(self, rows: list[dict[str, float]]) -> list[ChurnScore]:
        if self._churn_version is None:
            self._churn_version = (await self.handles["churn"].ready.remote())["version"]
        batched = await self.handles["churn"].score.remote(rows)
        return list(batched.value)

    @property
    def churn_version(self) -> str:
        return self._churn_version or "churn"
