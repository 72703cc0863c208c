"""One way to load every model: name → loader, version, typed I/O, warm-up, evaluation.

Serve deployments and stream processors ask the registry for a model by name
(``registry.load("embedding", settings)``) instead of importing model classes,
so loading, warm-up and configuration (local paths, threads) stay uniform.
Loaders import heavy libraries lazily: importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from models.errors import ModelError
from models.precision import Precision
from models.summary.extractive import SummarySentence
from models.text.encoder_runtime import Runtime


class ModelOptions(BaseModel):
    """What callers may configure; unset means the packaged default."""

    model_path: Path | None = None
    threads: int = Field(default=1, ge=1, le=64)
    dtype: Precision = "auto"  # the text encoders' precision (models.precision)
    runtime: Runtime = "auto"  # what computes them (models.text.encoder_runtime)
    artifacts_dir: Path | None = None  # where assembled/trained artifacts live (voice: the Whisper base folder)
    profile: str | None = None  # voice: the default Whisper profile (models.voice.profiles)


class EmbedRequest(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=256)


class EmbedResponse(BaseModel):
    model_version: str = Field(description="the encoder that computed them: vectors of different versions do not mix")
    vectors: list[list[float]]
    dimensions: int
    truncated: list[bool] = Field(description="per text: part of it was not read (over 64 chunks)")
    chunks: list[int] = Field(description="per text: windows it was read in (a long text's vector is their mean)")


class SentimentRequest(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=256)


class AspectMentionResult(BaseModel):
    aspect: str = Field(description="price, quality, support, delivery, onboarding, billing or competitor")
    sentence: str
    sentence_index: int = Field(description="position among the text's sentences")
    confidence: float = Field(ge=0, le=1, description="the aspect's probability")
    label: str = Field(description="the sentence's own sentiment")
    score: float = Field(ge=-1, le=1, description="the sentence's P(positive) - P(negative)")


class SentimentResult(BaseModel):
    label: str
    score: float = Field(ge=-1, le=1, description="P(positive) - P(negative)")
    probabilities: dict[str, float]
    truncated: bool = Field(
        default=False, description="part of it was not read (over 64 chunks, or a run of words over the window)"
    )
    chunks: int = Field(default=1, ge=0, description="windows of the model's token limit it was read in")
    language: str = Field(default="und", description="ISO 639-1 code; 'und' when too short or unsure")
    supported: bool = Field(
        default=True, description="false: a language the model was not trained on; answered neutral, score 0"
    )
    aspects: list[AspectMentionResult] | None = Field(
        default=None, description="with aspects=true: its sentences about an aspect, each with its sentiment"
    )


class SentimentResponse(BaseModel):
    results: list[SentimentResult]
    model_version: str = Field(description="the model that scored them")


class SummaryRequest(BaseModel):
    document: str = Field(min_length=1, max_length=200_000)
    max_sentences: int = Field(default=3, ge=1, le=50)
    diversity: float = Field(default=0.3, ge=0, le=1)


class SummaryResponse(BaseModel):
    summary: str
    sentences: list[SummarySentence]
    total_sentences: int
    method: str


class VoiceRequest(BaseModel):
    audio: bytes = Field(min_length=1, description="encoded audio: WAV, FLAC, OGG or MP3, any sample rate")


class VoiceResponse(BaseModel):
    transcript: str
    duration_s: float
    speaking_ratio: float = Field(description="share of the recording with speech, from voice activity detection")
    silence_ratio: float
    words_per_minute: float
    keywords: list[str]
    segments: list[dict[str, Any]] = Field(description="start, end, text, sentiment and speaker of each segment")
    words: list[dict[str, Any]]
    real_time_factor: float
    overall_sentiment: dict[str, Any] | None = None
    profile: str = Field(description="the Whisper profile that transcribed it: fast (tiny.en) or accurate (base)")
    model: str
    no_speech: bool = Field(description="true when voice activity detection heard no speech: nothing was decoded")
    speech: list[dict[str, float]] = Field(description="where speech is, in seconds (VAD)")
    turns: list[dict[str, Any]] = Field(description="who spoke when: speaker, start, end")
    speakers: list[dict[str, Any]] = Field(
        description="per speaker: role (rep/customer when the request named the rep), talk time and ratio, words "
        "per minute, turns, longest monologue, interruptions, sentiment"
    )


class VisionRequest(BaseModel):
    media: bytes = Field(min_length=1, description="an image (JPEG/PNG/WebP) or a short video (MP4/WebM/AVI)")
    fps: float = Field(default=2.0, ge=0.1, le=30)


class VisionResponse(BaseModel):
    summary: dict[str, Any]
    timeline: list[dict[str, Any]]


class ChurnRequest(BaseModel):
    features: dict[str, float]


class ChurnResponse(BaseModel):
    probability: float = Field(ge=0, le=1)
    bucket: str
    top_contributions: list[dict[str, Any]]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: str
    description: str
    loader: Callable[[ModelOptions], Any]
    input_schema: type[BaseModel]
    output_schema: type[BaseModel]
    warm_up: Callable[[Any], None] = lambda model: None
    evaluate: str | None = None  # the module whose ``main`` evaluates it on held-out data


class UnknownModel(ModelError, KeyError):
    pass


@dataclass
class ModelRegistry:
    specs: dict[str, ModelSpec] = field(default_factory=dict)

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.name in self.specs:
            raise ValueError(f"model {spec.name!r} is already registered")
        self.specs[spec.name] = spec
        return spec

    def spec(self, name: str) -> ModelSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise UnknownModel(f"no model named {name!r}; registered: {', '.join(sorted(self.specs))}") from None

    def load(self, name: str, options: ModelOptions | None = None, *, warm: bool = True) -> Any:
        spec = self.spec(name)
        model = spec.loader(options or ModelOptions())
        if warm:
            spec.warm_up(model)
        return model


def _load_embedding(options: ModelOptions) -> Any:
    from models.embeddings.encoder import SentenceEncoder

    return SentenceEncoder(options.model_path, threads=options.threads, dtype=options.dtype, runtime=options.runtime)


def _load_churn(options: ModelOptions) -> Any:
    from models.churn.model import ChurnModel

    if options.model_path is None:
        raise ModelError("the churn model needs model_path: the folder `python -m models.churn.train` wrote")
    return ChurnModel.load(options.model_path)


def _warm_churn(model: Any) -> None:
    import numpy as np

    model.predict(np.zeros((1, len(model.features))))


def _load_sentiment(options: ModelOptions) -> Any:
    from models.sentiment.classifier import load_analyzer

    return load_analyzer(options.model_path, threads=options.threads, dtype=options.dtype, runtime=options.runtime)


def _load_voice(options: ModelOptions) -> Any:
    from models.voice.analyzer import VoiceAnalyzer
    from models.voice.profiles import parse_profile

    return VoiceAnalyzer(
        options.model_path,
        threads=options.threads,
        artifacts_dir=options.artifacts_dir,
        default_profile=parse_profile(options.profile),
    )


def _warm_voice(model: Any) -> None:
    import numpy as np

    model.transcribe(np.zeros(16_000, dtype=np.float32))  # the VAD's session (no speech: the decoder stays idle)


def _load_vision(options: ModelOptions) -> Any:
    from models.vision.analyzer import VisionAnalyzer

    return VisionAnalyzer()


def _load_pricing(options: ModelOptions) -> Any:
    from models.pricing.service import PricingService

    return PricingService.fit_default()


def _pricing_schemas() -> tuple[type[BaseModel], type[BaseModel]]:
    from models.pricing.service import PricingRequest, PricingResponse

    return PricingRequest, PricingResponse


registry = ModelRegistry()
registry.register(
    ModelSpec(
        name="embedding",
        version="all-MiniLM-L6-v2",
        description="384-d sentence embeddings (mean pooling, L2-normalised)",
        loader=_load_embedding,
        input_schema=EmbedRequest,
        output_schema=EmbedResponse,
        warm_up=lambda model: model.encode(["warm-up"]),
    )
)
registry.register(
    ModelSpec(
        name="churn",
        version="xgboost-isotonic-v2",
        description="churn probability, risk bucket and top feature contributions",
        loader=_load_churn,
        input_schema=ChurnRequest,
        output_schema=ChurnResponse,
        warm_up=_warm_churn,
        evaluate="models.churn.evaluate",
    )
)
registry.register(
    ModelSpec(
        name="sentiment",
        version="minilm-lora-v2",
        description="negative/neutral/positive with probabilities (MiniLM + LoRA, or a local HF classifier)",
        loader=_load_sentiment,
        input_schema=SentimentRequest,
        output_schema=SentimentResponse,
        warm_up=lambda model: model.predict_proba(["warm-up"]),
        evaluate="models.sentiment.evaluate",
    )
)
registry.register(
    ModelSpec(
        name="pricing",
        version="loglog-fe-cigar-v1",
        description="profit/revenue-maximising price under bounds, from fitted elasticities",
        loader=_load_pricing,
        input_schema=_pricing_schemas()[0],
        output_schema=_pricing_schemas()[1],
        evaluate="models.pricing.evaluate",
    )
)
registry.register(
    ModelSpec(
        name="voice",
        version="faster-whisper-base+tiny.en-int8",
        description=(
            "VAD-gated transcript with word timestamps, speaker turns and per-speaker figures, talk/silence ratios, "
            "pace, keywords (faster-whisper base or tiny.en, Silero VAD, GE2E speaker encoder)"
        ),
        loader=_load_voice,
        input_schema=VoiceRequest,
        output_schema=VoiceResponse,
        warm_up=_warm_voice,
        evaluate="models.voice.evaluate",
    )
)
registry.register(
    ModelSpec(
        name="vision",
        version="mediapipe-facemesh+fer2013-mini-xception",
        description="faces, emotions, eye openness, head pose, gaze, attention and engagement per frame and per call",
        loader=_load_vision,
        input_schema=VisionRequest,
        output_schema=VisionResponse,
        warm_up=lambda model: model.analyze_frames([__import__("numpy").zeros((64, 64, 3), "uint8")], 1.0),
        evaluate="models.vision.evaluate",
    )
)
