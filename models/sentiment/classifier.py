"""Three-class sentiment (negative / neutral / positive) with probabilities.

Two loaders behind one interface:

* the project's default, :class:`MiniLMSentiment`: the packaged all-MiniLM-L6-v2
  encoder with rank-8 LoRA adapters and a linear head trained by
  ``python -m models.sentiment.train`` (artifact committed under
  ``models/sentiment/weights/``; adapters are merged at load);
* :class:`HFSequenceClassifier`: any local fine-tuned
  ``AutoModelForSequenceClassification`` directory (``VETTIFY_SENTIMENT_MODEL_PATH``),
  whose ``id2label`` is mapped onto the three classes by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from models.embeddings.encoder import check_texts, packaged_model_path, tokenize_truncated
from models.errors import ArtifactNotFound
from models.precision import resolve_dtype, torch_dtype
from models.sentiment.data import LABELS
from models.text.encoder_runtime import encoder_forward, resolve_runtime

ARTIFACT_FORMAT = 1
DEFAULT_ARTIFACT = Path(__file__).parent / "weights" / "minilm-lora-v2"


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float  # P(positive) - P(negative), in [-1, 1]
    probabilities: dict[str, float]
    truncated: bool = False  # some of it was not read (more than MAX_CHUNKS chunks, or one cut word run)
    chunks: int = 1  # windows of the encoder's token limit it was read in (models.text.chunks)
    language: str = "und"  # ISO 639-1 code, "und" when too short or unsure (models.text.language)
    supported: bool = True  # False: a language the model was not trained on; the answer is neutral, score 0


class SentimentModel(Protocol):
    version: str
    tokenizer: Any
    max_tokens: int  # the encoder's window, special tokens included
    languages: tuple[str, ...]  # ISO 639-1 codes it was trained on; ("*",) for any

    def score(self, texts: list[str]) -> tuple[NDArray[np.float32], list[bool]]:
        """Probabilities (columns in LABELS order) and, per text, whether it was cut to the token limit."""
        ...

    def predict_proba(self, texts: list[str]) -> NDArray[np.float32]: ...


def to_sentiments(probabilities: NDArray[np.float32], truncated: list[bool] | None = None) -> list[Sentiment]:
    results = []
    flags = truncated or [False] * len(probabilities)
    for row, cut in zip(probabilities, flags, strict=True):
        probs = {label: round(float(p), 6) for label, p in zip(LABELS, row, strict=True)}
        results.append(
            Sentiment(
                label=LABELS[int(np.argmax(row))],
                score=round(float(row[2] - row[0]), 6),
                probabilities=probs,
                truncated=cut,
            )
        )
    return results


OVERALL_MARGIN = 0.2
"""A mean score this far from 0 makes a conversation positive or negative overall; closer, neutral."""


def overall_label(scores: list[float]) -> str:
    """The label of a conversation from its parts' scores (P(pos) - P(neg)): the mean against ±OVERALL_MARGIN."""
    mean = sum(scores) / len(scores) if scores else 0.0
    return "positive" if mean > OVERALL_MARGIN else "negative" if mean < -OVERALL_MARGIN else "neutral"


def classify(model: SentimentModel, texts: list[str]) -> list[Sentiment]:
    check_texts(texts)
    return to_sentiments(*model.score(texts))


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """The attention-masked mean of the hidden states, in float32 whatever the encoder computed in."""
    hidden = hidden.float()
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class MiniLMSentiment:
    """MiniLM + merged LoRA adapters + linear head; batched, CPU-friendly."""

    def __init__(
        self,
        artifact: Path | None = None,
        *,
        encoder_path: Path | None = None,
        threads: int | None = None,
        batch_size: int = 64,
        dtype: str | None = None,
        runtime: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        from models.sentiment.lora import load_adapters

        self.artifact = Path(artifact) if artifact is not None else DEFAULT_ARTIFACT
        meta_path = self.artifact / "meta.json"
        if not meta_path.exists():
            raise ArtifactNotFound(
                f"no sentiment artifact at {self.artifact}: run `python -m models.sentiment.train --out DIR`"
            )
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format") != ARTIFACT_FORMAT:
            raise ArtifactNotFound(
                f"{self.artifact} has artifact format {self.meta.get('format')}, not {ARTIFACT_FORMAT}"
            )
        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        base = Path(encoder_path) if encoder_path is not None else packaged_model_path()
        self.tokenizer: Any = AutoTokenizer.from_pretrained(base, local_files_only=True)
        self.encoder: Any = AutoModel.from_pretrained(base, local_files_only=True)
        state = torch.load(self.artifact / "weights.pt", map_location="cpu", weights_only=True)
        load_adapters(self.encoder, state["adapters"], rank=self.meta["rank"], alpha=self.meta["alpha"])
        # Adapters merge in float32 first, then the encoder is cast (ONNX Runtime computes in float32).
        runtime, self.dtype = resolve_runtime(runtime, dtype)
        self.encoder.eval()
        # models.text.encoder_runtime: casts to the dtype; ONNX Runtime for single texts where it matches PyTorch.
        self._forward, self.runtime = encoder_forward(
            self.encoder, self.tokenizer, runtime, dtype=self.dtype, threads=threads
        )
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(LABELS))  # float32: reads the pooled mean
        self.head.load_state_dict(state["head"])
        self.head.eval()
        self.max_tokens = int(self.meta["max_tokens"])
        self.batch_size = batch_size
        self.version = str(self.meta["version"])
        self.languages = tuple(self.meta.get("languages", ["en"]))

    def predict_proba(self, texts: list[str]) -> NDArray[np.float32]:
        return self.score(texts)[0]

    def score(self, texts: list[str]) -> tuple[NDArray[np.float32], list[bool]]:
        check_texts(texts)
        # Sort by length so each batch pads to similar lengths (a large win for mixed tweets/transcripts).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        truncated = [False] * len(texts)
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            encoded, cut = tokenize_truncated(self.tokenizer, [texts[i] for i in index], self.max_tokens)
            for i, flag in zip(index, cut, strict=True):
                truncated[i] = flag
            with self._torch.inference_mode():
                hidden = self._forward(encoded)
                logits = self.head(mean_pool(hidden, encoded["attention_mask"]))
                out[index] = self._torch.softmax(logits.float(), dim=-1).numpy()
        return out, truncated


class HFSequenceClassifier:
    """A local fine-tuned ``AutoModelForSequenceClassification`` directory."""

    def __init__(
        self,
        path: Path,
        *,
        threads: int | None = None,
        batch_size: int = 32,
        max_tokens: int = 256,
        dtype: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not (Path(path) / "config.json").exists():
            raise ArtifactNotFound(f"{path} is not a Hugging Face checkpoint directory (no config.json)")
        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.dtype = resolve_dtype(dtype)
        self.model: Any = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        self.model.to(torch_dtype(self.dtype)).eval()
        self.columns = self._label_columns(self.model.config.id2label)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.version = f"hf:{Path(path).name}"
        # A multilingual checkpoint says so with "vettify_languages": ["ro", "en"] (or ["*"]) in its config.json.
        self.languages = tuple(getattr(self.model.config, "vettify_languages", None) or ["en"])

    @staticmethod
    def _label_columns(id2label: dict[int, str]) -> list[int]:
        """For each of negative/neutral/positive, the model's output index."""
        aliases = {
            "negative": ("negative", "neg", "label_0"),
            "neutral": ("neutral", "neu", "label_1"),
            "positive": ("positive", "pos", "label_2"),
        }
        names = {int(i): str(label).lower() for i, label in id2label.items()}
        if len(names) != 3:
            raise ArtifactNotFound(f"the checkpoint has {len(names)} labels ({names}); sentiment needs 3")
        columns = []
        for label in LABELS:
            match = [i for i, name in names.items() if name in aliases[label]]
            if len(match) != 1:
                raise ArtifactNotFound(f"cannot map the checkpoint's labels {sorted(names.values())} to {LABELS}")
            columns.append(match[0])
        return columns

    def predict_proba(self, texts: list[str]) -> NDArray[np.float32]:
        return self.score(texts)[0]

    def score(self, texts: list[str]) -> tuple[NDArray[np.float32], list[bool]]:
        check_texts(texts)
        rows, truncated = [], []
        for start in range(0, len(texts), self.batch_size):
            encoded, cut = tokenize_truncated(self.tokenizer, texts[start : start + self.batch_size], self.max_tokens)
            truncated += cut
            with self._torch.inference_mode():
                logits = self.model(**encoded).logits
            rows.append(self._torch.softmax(logits.float(), dim=-1).numpy()[:, self.columns])
        return np.concatenate(rows).astype(np.float32), truncated


def load_sentiment(
    path: Path | None = None, *, threads: int | None = None, dtype: str | None = None, runtime: str | None = None
) -> SentimentModel:
    """The bare model (one window of its languages); :func:`load_analyzer` is what serves."""
    return _load_model(path, threads=threads, dtype=dtype, runtime=runtime)


def load_analyzer(
    path: Path | None = None, *, threads: int | None = None, dtype: str | None = None, runtime: str | None = None
) -> Any:
    """The model wrapped in :class:`~models.sentiment.analyzer.SentimentAnalyzer`: long texts, language, aspects."""
    from models.sentiment.analyzer import SentimentAnalyzer

    model = _load_model(path, threads=threads, dtype=dtype, runtime=runtime)
    return SentimentAnalyzer(model, languages=model.languages)


def _load_model(
    path: Path | None = None, *, threads: int | None = None, dtype: str | None = None, runtime: str | None = None
) -> SentimentModel:
    """The packaged model, a project artifact folder (``meta.json``) or a local HF classifier (``config.json``).

    ``dtype``: ``float32``, ``bfloat16`` or ``auto`` (:mod:`models.precision`); ``runtime``: ``torch``, ``onnx``
    or ``auto`` (:mod:`models.text.encoder_runtime`; a local HF classifier always runs in PyTorch).
    """
    if path is None:
        return MiniLMSentiment(threads=threads, dtype=dtype, runtime=runtime)
    path = Path(path)
    if (path / "meta.json").exists():
        return MiniLMSentiment(path, threads=threads, dtype=dtype, runtime=runtime)
    if (path / "config.json").exists():
        return HFSequenceClassifier(path, threads=threads, dtype=dtype)
    raise ArtifactNotFound(f"{path} holds neither a sentiment artifact (meta.json) nor a HF checkpoint (config.json)")
