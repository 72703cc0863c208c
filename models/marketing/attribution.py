"""Multi-touch attribution: who gets the credit for a conversion, per channel, under seven models.

Journeys are a person's (or session's) touchpoints in order, whether they converted and the revenue.
Identical journeys are counted once (:class:`PathCounts`), so a million journeys cost what their distinct
paths cost.

* **Rules**: first touch, last touch, linear, time-decay (a touch's weight halves every ``half_life_days``
  before the conversion; without times, one step back counts as one day), position-based (40 % first,
  40 % last, the rest shared by the middle).
* **Markov chain, removal effect** (order 1–3): states are the last ``order`` channels seen; the chance of
  reaching *conversion* from *start* is solved exactly on the absorbing chain, and a channel's removal
  effect is how much of it is lost when every state that involves the channel leads nowhere.
* **Shapley values**: the players are the channels of a converting journey, a coalition's worth the
  conversion rate of journeys with exactly that channel set (journeys without touches give the empty
  coalition its worth); each journey's conversion is split by the Shapley values of its own channels —
  exact up to :data:`EXACT_SHAPLEY_MAX` channels, from sampled orderings beyond.

Every model hands out exactly the observed conversions and revenue (the property tests hold it to that).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, model_validator
from scipy import sparse
from scipy.sparse.linalg import spsolve

from models.errors import InvalidInput

ModelName = Literal["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]
MODELS: tuple[ModelName, ...] = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "markov",
    "shapley",
)
EXACT_SHAPLEY_MAX = 12
MAX_TOUCHES = 200


class Journey(BaseModel):
    touches: list[str] = Field(
        default_factory=list,
        max_length=MAX_TOUCHES,
        description="channels in the order they were touched (none: direct)",
    )
    days_before: list[float] | None = Field(
        default=None, description="per touch: days before the conversion (or the journey's end); time-decay"
    )
    converted: bool = False
    value: float = Field(default=0.0, ge=0, description="revenue of the conversion")
    count: int = Field(default=1, ge=1, description="identical journeys this row stands for")

    @model_validator(mode="after")
    def _times(self) -> Journey:
        if self.days_before is not None:
            if len(self.days_before) != len(self.touches):
                raise ValueError("days_before needs one value per touch")
            if any(not math.isfinite(d) or d < 0 for d in self.days_before):
                raise ValueError("days_before values must be finite and >= 0")
        if self.value and not self.converted:
            raise ValueError("a journey that did not convert has no value")
        return self


@dataclass
class PathCounts:
    """Distinct journeys (channel indices, and per-touch ages when known) with their counts."""

    channels: list[str]
    conversions: dict[tuple[tuple[int, ...], tuple[float, ...] | None], float] = field(default_factory=dict)
    nulls: dict[tuple[int, ...], float] = field(default_factory=dict)
    value: dict[tuple[tuple[int, ...], tuple[float, ...] | None], float] = field(default_factory=dict)

    def add(
        self,
        path: tuple[int, ...],
        converted: float,
        not_converted: float,
        value: float = 0.0,
        ages: tuple[float, ...] | None = None,
    ) -> None:
        if converted:
            key = (path, ages)
            self.conversions[key] = self.conversions.get(key, 0.0) + converted
            self.value[key] = self.value.get(key, 0.0) + value
        if not_converted:
            self.nulls[path] = self.nulls.get(path, 0.0) + not_converted

    @property
    def total_conversions(self) -> float:
        return sum(c for (path, _), c in self.conversions.items() if path)

    @property
    def total_value(self) -> float:
        return sum(v for (path, _), v in self.value.items() if path)

    def converted_paths(self) -> dict[tuple[int, ...], float]:
        paths: dict[tuple[int, ...], float] = defaultdict(float)
        for (path, _), c in self.conversions.items():
            paths[path] += c
        return paths


def path_counts(journeys: Iterable[Journey], channels: Sequence[str] | None = None) -> PathCounts:
    """Journeys as distinct paths; with ``channels`` given, a touch outside them is refused by name."""
    journeys = list(journeys)
    known = list(channels) if channels else sorted({t for j in journeys for t in j.touches})
    index = {name: i for i, name in enumerate(known)}
    unknown = sorted({t for j in journeys for t in j.touches} - set(index))
    if unknown:
        raise InvalidInput(f"journeys touch channels that are not in 'channels': {unknown[:20]}")
    counts = PathCounts(known)
    for j in journeys:
        path = tuple(index[t] for t in j.touches)
        ages = tuple(j.days_before) if j.days_before is not None else None
        counts.add(path, j.count if j.converted else 0, 0 if j.converted else j.count, j.value * j.count, ages)
    return counts


def _rule_weights(  # noqa: PLR0911 - one return per rule reads best
    model: ModelName, n: int, ages: tuple[float, ...] | None, half_life: float, first_share: float, last_share: float
) -> NDArray[np.float64]:
    if model == "first_touch":
        return np.asarray(np.eye(n)[0], dtype=float)
    if model == "last_touch":
        return np.asarray(np.eye(n)[-1], dtype=float)
    if model == "linear":
        return np.full(n, 1.0 / n)
    if model == "time_decay":
        age = np.asarray(ages if ages is not None else range(n - 1, -1, -1), dtype=float)
        w = np.power(0.5, age / half_life)
        return w / w.sum()  # type: ignore[no-any-return]
    # position-based
    if n == 1:
        return np.ones(1)
    if n == 2:
        return np.array([first_share, last_share]) / (first_share + last_share)
    w = np.full(n, (1.0 - first_share - last_share) / (n - 2))
    w[0], w[-1] = first_share, last_share
    return w


def rule_credits(
    counts: PathCounts, model: ModelName, half_life_days: float = 7.0, position_shares: tuple[float, float] = (0.4, 0.4)
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Conversions and revenue per channel under one of the five rules."""
    conv = np.zeros(len(counts.channels))
    value = np.zeros(len(counts.channels))
    for (path, ages), c in counts.conversions.items():
        if not path:
            continue
        w = _rule_weights(model, len(path), ages, half_life_days, *position_shares)
        np.add.at(conv, list(path), c * w)
        np.add.at(value, list(path), counts.value[(path, ages)] * w)
    return conv, value


def _share_credits(counts: PathCounts, shares: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    total = float(shares.sum())
    if total <= 0:  # nothing is lost without any one channel: fall back to equal shares of what converted
        shares = np.ones(len(shares))
        total = float(len(shares))
    normalised = shares / total
    return normalised * counts.total_conversions, normalised * counts.total_value


def markov_removal_effects(counts: PathCounts, order: int = 1) -> NDArray[np.float64]:
    """Per channel, the share of conversion probability lost when the channel is removed."""
    if not 1 <= order <= 3:
        raise InvalidInput("the Markov chain's order must be 1, 2 or 3")
    START, CONV, NULL = 0, 1, 2
    states: dict[tuple[int, ...], int] = {}
    weights: dict[tuple[int, int], float] = defaultdict(float)

    def state(path: tuple[int, ...], i: int) -> int:
        key = path[max(0, i - order + 1) : i + 1]
        return states.setdefault(key, len(states) + 3)

    paths: dict[tuple[int, ...], tuple[float, float]] = {}
    for path, c in counts.converted_paths().items():
        paths[path] = (c, 0.0)
    for path, n in counts.nulls.items():
        paths[path] = (paths.get(path, (0.0, 0.0))[0], n)
    for path, (c, n) in paths.items():
        if not path:
            continue
        previous = START
        for i in range(len(path)):
            current = state(path, i)
            weights[(previous, current)] += c + n
            previous = current
        if c:
            weights[(previous, CONV)] += c
        if n:
            weights[(previous, NULL)] += n
    size = len(states) + 3
    rows, cols, vals = zip(*((a, b, w) for (a, b), w in weights.items()), strict=True) if weights else ((), (), ())
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(size, size))
    out = np.asarray(matrix.sum(axis=1)).ravel()
    transition = sparse.diags(1.0 / np.where(out > 0, out, 1.0)) @ matrix
    to_conv = np.asarray(transition[:, CONV].todense()).ravel()

    def conversion_probability(dead: NDArray[np.bool_]) -> float:
        transient = np.ones(size, dtype=bool)
        transient[[CONV, NULL]] = False
        transient &= ~dead
        idx = np.flatnonzero(transient)
        q = transition[idx][:, idx]
        system = sparse.identity(len(idx), format="csc") - q.tocsc()
        x = spsolve(system, to_conv[idx])
        return float(np.atleast_1d(x)[int(np.searchsorted(idx, START))])

    total = conversion_probability(np.zeros(size, dtype=bool))
    effects = np.zeros(len(counts.channels))
    if total <= 0:
        return effects
    for channel in range(len(counts.channels)):
        dead = np.zeros(size, dtype=bool)
        for key, s in states.items():
            if channel in key:
                dead[s] = True
        effects[channel] = max(0.0, 1.0 - conversion_probability(dead) / total)
    return effects


def _shapley_exact(members: tuple[int, ...], worth: dict[frozenset[int], float]) -> NDArray[np.float64]:
    t = len(members)
    phi = np.zeros(t)
    factorial = [math.factorial(i) for i in range(t + 1)]
    for i, player in enumerate(members):
        others = members[:i] + members[i + 1 :]
        for size in range(t):
            weight = factorial[size] * factorial[t - size - 1] / factorial[t]
            for coalition in itertools.combinations(others, size):
                base = frozenset(coalition)
                phi[i] += weight * (worth.get(base | {player}, 0.0) - worth.get(base, 0.0))
    return phi


def _shapley_sampled(
    members: tuple[int, ...], worth: dict[frozenset[int], float], samples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    phi = np.zeros(len(members))
    for _ in range(samples):
        order = rng.permutation(len(members))
        coalition: frozenset[int] = frozenset()
        before = worth.get(coalition, 0.0)
        for position in order:
            coalition = coalition | {members[position]}
            after = worth.get(coalition, 0.0)
            phi[position] += after - before
            before = after
    return phi / samples


def shapley_credits(
    counts: PathCounts, samples: int = 2000, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each converting channel set's conversions and revenue split by its Shapley values (see the module)."""
    rng = np.random.default_rng(seed)
    converted: dict[frozenset[int], float] = defaultdict(float)
    value: dict[frozenset[int], float] = defaultdict(float)
    seen: dict[frozenset[int], float] = defaultdict(float)
    for (path, ages), c in counts.conversions.items():
        key = frozenset(path)
        converted[key] += c
        value[key] += counts.value[(path, ages)]
        seen[key] += c
    for path, n in counts.nulls.items():
        seen[frozenset(path)] += n
    worth = {key: converted.get(key, 0.0) / n for key, n in seen.items() if n > 0}
    conv = np.zeros(len(counts.channels))
    revenue = np.zeros(len(counts.channels))
    for key, c in converted.items():
        if not key:
            continue
        members = tuple(sorted(key))
        if len(members) == 1:
            phi = np.ones(1)
        elif len(members) <= EXACT_SHAPLEY_MAX:
            phi = _shapley_exact(members, worth)
        else:
            phi = _shapley_sampled(members, worth, samples, rng)
        phi = np.clip(phi, 0.0, None)
        phi = phi / phi.sum() if phi.sum() > 0 else np.full(len(members), 1.0 / len(members))
        conv[list(members)] += c * phi
        revenue[list(members)] += value[key] * phi
    return conv, revenue


class AttributionRequest(BaseModel):
    journeys: list[Journey] = Field(min_length=1, max_length=100_000)
    channels: list[str] | None = Field(
        default=None, max_length=64, description="the known channels; a touch outside them is refused"
    )
    models: list[ModelName] = Field(default=list(MODELS), min_length=1)
    markov_order: int = Field(default=1, ge=1, le=3)
    half_life_days: float = Field(default=7.0, gt=0)
    spend: dict[str, float] | None = Field(default=None, description="spend per channel over the same period")
    shapley_samples: int = Field(default=2000, ge=100, le=100_000)
    seed: int = 0

    @model_validator(mode="after")
    def _spend(self) -> AttributionRequest:
        for channel, amount in (self.spend or {}).items():
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"spend for {channel!r} must be a finite amount >= 0")
        return self


class ChannelCredit(BaseModel):
    channel: str
    conversions: float
    revenue: float
    share: float
    spend: float | None = None
    roas: float | None = Field(default=None, description="attributed revenue / spend")
    cpa: float | None = Field(default=None, description="spend / attributed conversions")


class AttributionResult(BaseModel):
    model: str
    channels: list[ChannelCredit]


class AttributionResponse(BaseModel):
    state: Literal["ok", "not_enough_data"]
    reason: str | None = None
    journeys: int
    conversions: float
    revenue: float
    results: list[AttributionResult]


def credits(
    counts: PathCounts, model: ModelName, request: AttributionRequest | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    options = request or AttributionRequest(journeys=[Journey(touches=[])])
    if model == "markov":
        return _share_credits(counts, markov_removal_effects(counts, options.markov_order))
    if model == "shapley":
        return shapley_credits(counts, options.shapley_samples, options.seed)
    return rule_credits(counts, model, options.half_life_days)


def attribute(request: AttributionRequest) -> AttributionResponse:
    channels = request.channels
    if request.spend and channels is None:
        channels = sorted({t for j in request.journeys for t in j.touches} | set(request.spend))
    counts = path_counts(request.journeys, channels)
    return attribute_paths(counts, request, journeys=sum(j.count for j in request.journeys))


def attribute_paths(counts: PathCounts, options: AttributionRequest, *, journeys: int) -> AttributionResponse:
    """:func:`attribute` on journeys already counted as distinct paths (``options`` gives models and spend)."""
    if options.spend:
        unknown = sorted(set(options.spend) - set(counts.channels))
        if unknown:
            raise InvalidInput(f"spend names channels that are not in 'channels': {unknown}")
    total = counts.total_conversions
    if total <= 0:
        reason = "no journey with a touch converted: nothing to attribute"
        return AttributionResponse(
            state="not_enough_data", reason=reason, journeys=journeys, conversions=0.0, revenue=0.0, results=[]
        )
    results = []
    for model in dict.fromkeys(options.models):
        conv, revenue = credits(counts, model, options)
        rows = []
        for i, channel in enumerate(counts.channels):
            spend = (options.spend or {}).get(channel)
            rows.append(
                ChannelCredit(
                    channel=channel,
                    conversions=round(float(conv[i]), 6),
                    revenue=round(float(revenue[i]), 6),
                    share=round(float(conv[i]) / total, 6),
                    spend=spend,
                    roas=round(float(revenue[i]) / spend, 6) if spend else None,
                    cpa=round(spend / float(conv[i]), 6) if spend and conv[i] > 0 else None,
                )
            )
        results.append(AttributionResult(model=model, channels=rows))
    return AttributionResponse(
        state="ok", journeys=journeys, conversions=total, revenue=counts.total_value, results=results
    )
