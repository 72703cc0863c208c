"""The sentence encoder: offline loading, pooling parity, batching, truncation, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.embeddings.encoder import DIMENSIONS, SentenceEncoder, mean_vector, packaged_model_path
from models.errors import ArtifactNotFound, InvalidInput
from models.text.chunks import chunk_text

TEXTS = [
    "The delivery was late and support never answered.",
    "Shipment arrived late; nobody replied to my emails.",
    "Great service, fast shipping, will order again!",
    "Vă mulțumim pentru comanda dumneavoastră.",
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(threads=2, batch_size=2)


def test_vectors_are_unit_length_and_semantic(encoder: SentenceEncoder) -> None:
    result = encoder.encode(TEXTS)
    assert result.vectors.shape == (4, DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    similar = float(result.vectors[0] @ result.vectors[1])
    unrelated = float(result.vectors[0] @ result.vectors[2])
    assert similar > unrelated + 0.2
    assert result.truncated == [False] * 4


@pytest.fixture(scope="module")
def float32_encoder() -> SentenceEncoder:
    return SentenceEncoder(threads=2, dtype="float32")


def test_batching_does_not_change_vectors(encoder: SentenceEncoder, float32_encoder: SentenceEncoder) -> None:
    for model in (encoder, float32_encoder):
        together = model.encode(TEXTS).vectors
        one_by_one = np.vstack([model.encode([t]).vectors for t in TEXTS])
        # bfloat16 rounds each pass a little differently with the padding, and a lone text is computed in
        # float32 by ONNX Runtime (models.text.encoder_runtime): same direction, not same bits
        assert np.einsum("ij,ij->i", together, one_by_one).min() > 0.999
    exact = float32_encoder.encode(TEXTS).vectors
    np.testing.assert_allclose(exact, np.vstack([float32_encoder.encode([t]).vectors for t in TEXTS]), atol=1e-5)


def test_bfloat16_keeps_the_float32_vectors(float32_encoder: SentenceEncoder) -> None:
    fast = SentenceEncoder(threads=2, dtype="bfloat16")
    assert (fast.dtype, float32_encoder.dtype) == ("bfloat16", "float32")
    cosines = np.einsum("ij,ij->i", fast.encode(TEXTS).vectors, float32_encoder.encode(TEXTS).vectors)
    assert cosines.min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(fast.encode(TEXTS).vectors, axis=1), 1.0, atol=1e-5)


def test_a_long_text_is_the_weighted_mean_of_its_chunks(float32_encoder: SentenceEncoder) -> None:
    sentences = [f"Customer {i} reported that the delivery of order {i} arrived late and damaged." for i in range(60)]
    document = " ".join(sentences)
    result = float32_encoder.encode([document, "short"])
    assert result.chunks is not None and result.chunks[0] > 1 and result.chunks[1] == 1
    assert result.truncated == [False, False]
    chunks = chunk_text(document, float32_encoder._count_tokens, float32_encoder.max_tokens - 2)
    parts = float32_encoder.encode(chunks.texts).vectors
    weights = np.asarray(float32_encoder._count_tokens(chunks.texts), dtype=np.float32)
    expected = weights @ parts
    np.testing.assert_allclose(result.vectors[0], expected / np.linalg.norm(expected), atol=1e-5)
    query = float32_encoder.encode(["late and damaged deliveries"]).vectors[0]
    assert float(result.vectors[0] @ query) > 0.5
    assert result.rows()[0].chunks == result.chunks[0]


def test_passages_are_the_chunks_whose_weighted_mean_is_the_text_vector(float32_encoder: SentenceEncoder) -> None:
    document = " ".join(f"On call {i} the customer asked about the discount for annual plans." for i in range(50))
    passages = float32_encoder.passages(document)
    assert len(passages) > 1
    assert all(p.tokens <= float32_encoder.max_tokens - 2 for p in passages)
    np.testing.assert_allclose(mean_vector(passages), float32_encoder.encode([document]).vectors[0], atol=1e-5)
    single = float32_encoder.passages("short text")
    assert [p.text for p in single] == ["short text"]


def test_a_text_past_the_chunk_limit_says_it_was_cut(encoder: SentenceEncoder) -> None:
    result = encoder.encode(["word " * 20_000, "short"])
    assert result.truncated == [True, False]
    assert result.chunks == [64, 1]


@pytest.mark.parametrize(
    ("texts", "message"),
    [([""], "empty"), (["   "], "empty"), (["x" * 100_001], "limit"), ([b"bytes"], "not a string")],
)
def test_bad_input_is_a_typed_error(encoder: SentenceEncoder, texts: list[object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        encoder.encode(texts)  # type: ignore[arg-type]


@pytest.mark.slow
def test_same_vectors_as_sentence_transformers(float32_encoder: SentenceEncoder) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(packaged_model_path()), device="cpu", local_files_only=True)
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(float32_encoder.encode(TEXTS).vectors, expected, atol=1e-5)


def test_a_local_checkpoint_replaces_the_default(tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    folder = tmp_path / "tiny-bert"
    BertModel(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=30522)
    ).save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(packaged_model_path() / name, folder / name)
    tiny = SentenceEncoder(folder)
    vectors = tiny.encode(["hello world"]).vectors
    assert vectors.shape == (1, 32)
    with pytest.raises(ArtifactNotFound, match=r"config\.json"):
        SentenceEncoder(tmp_path / "empty")
