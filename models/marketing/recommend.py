"""Content recommendations: a hybrid of collaborative signal, content similarity and popularity.

Per person (a contact or an anonymous session) the recommender scores every candidate item by

* **collaborative** — implicit-feedback item-item cosine: items that the same people interacted with as the
  ones this person recently did (views, clicks, purchases; repeated and recent ones weigh more);
* **content** — cosine between the item's embedding (the engine's sentence encoder on its title and
  description) and the person's profile, the recency-weighted mean of what they recently interacted with;
  it is what recommends a new item nobody has touched yet;
* **popularity** — how often the item was interacted with lately, the fallback for a person with no history
  (and the only signal used without profiling consent);

each normalised per person to [0, 1] and mixed with weights chosen on held-out interactions
(:func:`tune_weights`). **Exploration** (optional): each item's click-through on past recommendations has a
Beta posterior, and a draw from it, times ``explore``, is added — Thompson sampling, so items whose appeal is
uncertain get shown sometimes. **Filters**: already seen, out of stock, excluded ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from models.errors import InvalidInput

HALF_LIFE_INTERACTIONS = 10.0  # the person's 10th most recent interaction weighs half the most recent one


@dataclass(frozen=True)
class Weights:
    """The mix of the three signals; the defaults were chosen on MovieLens (``recommend_evaluate``)."""

    collaborative: float = 1.0
    content: float = 0.75
    popularity: float = 0.75


@dataclass
class Recommender:
    """Fitted on interactions (person, item, weight) ordered in time; ``vectors`` are unit item embeddings."""

    items: int
    vectors: NDArray[np.float32] | None = None
    weights: Weights = field(default_factory=Weights)
    neighbours: int = 100
    similarity: sparse.csr_matrix | None = None
    popularity: NDArray[np.float64] | None = None

    def fit(
        self,
        people: NDArray[np.int64],
        items: NDArray[np.int64],
        strength: NDArray[np.float64] | None = None,
        recent: NDArray[np.bool_] | None = None,
    ) -> Recommender:
        if len(people) != len(items):
            raise InvalidInput("people and items must be aligned")
        if len(items) and (items.max() >= self.items or items.min() < 0):
            raise InvalidInput("an interaction names an item outside the catalogue")
        values = np.ones(len(items)) if strength is None else np.asarray(strength, dtype=float)
        n_people = int(people.max()) + 1 if len(people) else 0
        matrix = sparse.csr_matrix((values, (people, items)), shape=(n_people, self.items))
        matrix.data = np.log1p(matrix.data)  # repeated interactions count, with diminishing weight
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
        normalised = matrix @ sparse.diags(1.0 / np.where(norms > 0, norms, 1.0))
        similarity = (normalised.T @ normalised).tocsr()
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        self.similarity = _top_k_per_row(similarity, self.neighbours)
        counted = np.bincount(items[recent] if recent is not None else items, minlength=self.items).astype(float)
        self.popularity = np.log1p(counted)
        return self

    def components(self, history: list[int], *, personal: bool = True) -> NDArray[np.float64]:
        """The three signals for a person, each scaled to [0, 1]: rows collaborative, content, popularity."""
        if self.similarity is None or self.popularity is None:
            raise InvalidInput("the recommender is not fitted")
        parts = np.zeros((3, self.items))
        parts[2] = unit(self.popularity)
        if personal and history:
            idx = np.asarray(history, dtype=np.int64)
            recency = recency_weights(len(history))
            profile = np.zeros(self.items)
            np.add.at(profile, idx, recency)
            parts[0] = unit(np.asarray(self.similarity.T @ profile).ravel())
            if self.vectors is not None:
                vector = (recency[:, None] * self.vectors[idx]).sum(axis=0)
                norm = float(np.linalg.norm(vector))
                if norm > 0:
                    parts[1] = unit(self.vectors @ (vector / norm))
        return parts

    def scores(
        self,
        history: list[int],
        *,
        explore: float = 0.0,
        clicks: NDArray[np.float64] | None = None,
        shown: NDArray[np.float64] | None = None,
        rng: np.random.Generator | None = None,
        personal: bool = True,
    ) -> NDArray[np.float64]:
        """Every item's score for a person whose interactions, oldest first, are ``history``."""
        signals = self.components(history, personal=personal)
        return blend(signals, self.weights, explore=explore, clicks=clicks, shown=shown, rng=rng)

    def recommend(
        self,
        history: list[int],
        k: int,
        *,
        exclude: set[int] | None = None,
        available: NDArray[np.bool_] | None = None,
        exclude_seen: bool = True,
        **options: object,
    ) -> list[int]:
        scores = self.scores(history, **options)  # type: ignore[arg-type]
        return top_k(scores, k, history, exclude=exclude, available=available, exclude_seen=exclude_seen)


def blend(
    signals: NDArray[np.float64],
    weights: Weights,
    *,
    explore: float = 0.0,
    clicks: NDArray[np.float64] | None = None,
    shown: NDArray[np.float64] | None = None,
    rng: np.random.Generator | None = None,
) -> NDArray[np.float64]:
    """Scores from the signals (rows collaborative, content, popularity; each in [0, 1]) and, with
    ``explore`` > 0, a Thompson draw from each item's click-through posterior Beta(1 + clicks, 1 + misses)."""
    mix = np.array([weights.collaborative, weights.content, weights.popularity])
    total: NDArray[np.float64] = mix @ signals
    if explore > 0:
        rng = rng or np.random.default_rng()
        n = signals.shape[1]
        c = clicks if clicks is not None else np.zeros(n)
        s = shown if shown is not None else np.zeros(n)
        total = total + explore * rng.beta(1.0 + c, 1.0 + np.maximum(s - c, 0.0))
    return total


def top_k(
    scores: NDArray[np.float64],
    k: int,
    history: list[int],
    *,
    exclude: set[int] | None = None,
    available: NDArray[np.bool_] | None = None,
    exclude_seen: bool = True,
) -> list[int]:
    """The ``k`` best items by ``scores`` after the filters: already seen, excluded, not available."""
    if k < 1:
        raise InvalidInput("k must be at least 1")
    scores = np.array(scores, dtype=float)
    blocked = set(exclude or ())
    if exclude_seen:
        blocked |= set(history)
    if blocked:
        scores[list(blocked)] = -np.inf
    if available is not None:
        scores[~available] = -np.inf
    top = np.argpartition(-scores, min(k, len(scores) - 1))[: k + 1]
    ranked = top[np.argsort(-scores[top], kind="stable")]
    return [int(i) for i in ranked if np.isfinite(scores[i])][:k]


def unit(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scaled to [0, 1] (a constant vector gives zeros)."""
    low, high = float(np.min(values)), float(np.max(values))
    return np.zeros_like(values, dtype=float) if high <= low else (values - low) / (high - low)


def recency_weights(n: int) -> NDArray[np.float64]:
    """Weights of a history of ``n`` interactions, oldest first: halving every HALF_LIFE_INTERACTIONS back."""
    return np.power(0.5, np.arange(n - 1, -1, -1, dtype=float) / HALF_LIFE_INTERACTIONS)


def _top_k_per_row(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if start == end:
            continue
        data, index = matrix.data[start:end], matrix.indices[start:end]
        keep = np.argsort(-data)[:k]
        rows.append(np.full(len(keep), row))
        cols.append(index[keep])
        vals.append(data[keep])
    if not rows:
        return sparse.csr_matrix(matrix.shape)
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape)


def recall_ndcg_at_k(ranked: list[int], relevant: set[int], k: int = 10) -> tuple[float, float]:
    """Recall@k (share of the relevant items in the top k, of at most k) and NDCG@k with binary gains."""
    hits = [1.0 if item in relevant else 0.0 for item in ranked[:k]]
    recall = sum(hits) / min(len(relevant), k)
    dcg = sum(h / np.log2(i + 2) for i, h in enumerate(hits))
    ideal = sum(1.0 / np.log2(i + 2) for i in range(min(len(relevant), k)))
    return recall, dcg / ideal
