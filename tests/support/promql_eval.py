"""A small PromQL evaluator over recorded samples, for the rule files ``vettify slo rules`` generates.

Expressions are parsed by ``promql-parser`` (the Rust PromQL parser's Python binding, so a syntax error
fails here as it would in Prometheus) and evaluated for the subset the rules use: selectors with ``=``,
``!=``, ``=~``, ``!~`` matchers, ``rate()`` over a range, ``sum`` (``by``), arithmetic, comparisons (filtering),
``and``/``or``, parentheses and numbers. ``rate`` is the increase between the first and last sample in the
range over their time distance (Prometheus also extrapolates to the range's edges; with samples every scrape
interval the difference is a few percent, far from any threshold the tests use).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import promql_parser as pp

Labels = frozenset[tuple[str, str]]
Vector = dict[Labels, float]
Value = Vector | float

LOOKBACK_S = 300.0


@dataclass
class Store:
    """Samples per series: ``{(name, labels): [(t, value), …]}`` in time order."""

    series: dict[tuple[str, Labels], list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, labels: dict[str, str], t: float, value: float) -> None:
        self.series[(name, frozenset(labels.items()))].append((t, value))

    def add_exposition(self, text: str, t: float) -> None:
        """One scrape of a ``/metrics`` page (the Prometheus text format) at time ``t``."""
        from prometheus_client.parser import text_string_to_metric_families

        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.add(sample.name, dict(sample.labels), t, float(sample.value))

    def select(self, name: str, matchers: Iterable[Any]) -> Iterable[tuple[Labels, list[tuple[float, float]]]]:
        for (series_name, labels), points in self.series.items():
            if series_name != name:
                continue
            values = dict(labels)
            if all(_matches(m, values.get(m.name, "")) for m in matchers):
                yield labels, points


def _matches(matcher: Any, value: str) -> bool:
    op = matcher.op
    if op == pp.MatchOp.Equal:
        return value == matcher.value
    if op == pp.MatchOp.NotEqual:
        return value != matcher.value
    full = re.fullmatch(matcher.value, value) is not None
    return full if op == pp.MatchOp.Re else not full


def evaluate(expr: str | Any, store: Store, t: float) -> Value:
    node = pp.parse(expr) if isinstance(expr, str) else expr
    return _eval(node, store, t)


def _eval(node: Any, store: Store, t: float) -> Value:
    kind = type(node).__name__
    if kind == "NumberLiteral":
        return float(node.val)
    if kind == "ParenExpr":
        return _eval(node.expr, store, t)
    if kind == "VectorSelector":
        out: Vector = {}
        for labels, points in store.select(node.name, node.matchers.matchers):
            recent = _between(points, t - LOOKBACK_S, t)
            if recent:
                out[labels] = recent[-1][1]
        return out
    if kind == "Call":
        if node.func.name != "rate":
            raise NotImplementedError(f"function {node.func.name}")
        return _rate(node.args[0], store, t)
    if kind == "AggregateExpr":
        if str(node.op) != "sum":
            raise NotImplementedError(f"aggregation {node.op}")
        inner = _eval(node.expr, store, t)
        assert isinstance(inner, dict)
        keep = set(node.modifier.labels) if node.modifier is not None else set()
        grouped: dict[Labels, float] = defaultdict(float)
        for labels, value in inner.items():
            grouped[frozenset((k, v) for k, v in labels if k in keep)] += value
        return dict(grouped)
    if kind == "BinaryExpr":
        return _binary(str(node.op), _eval(node.lhs, store, t), _eval(node.rhs, store, t))
    raise NotImplementedError(kind)


def _between(points: list[tuple[float, float]], after: float, until: float) -> list[tuple[float, float]]:
    """The samples with ``after < t <= until`` (points are in time order)."""
    first = bisect.bisect_right(points, after, key=lambda p: p[0])
    return points[first : bisect.bisect_right(points, until, key=lambda p: p[0])]


def _rate(matrix: Any, store: Store, t: float) -> Vector:
    span = matrix.range.total_seconds()
    selector = matrix.vector_selector
    out: Vector = {}
    for labels, points in store.select(selector.name, selector.matchers.matchers):
        window = _between(points, t - span, t)
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            out[labels] = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
    return out


ARITHMETIC = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else (math.nan if a == 0 else math.copysign(math.inf, a)),
}
COMPARISON = {">": lambda a, b: a > b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


def _binary(op: str, lhs: Value, rhs: Value) -> Value:
    if op in ("and", "or"):
        assert isinstance(lhs, dict) and isinstance(rhs, dict)
        if op == "and":
            return {k: v for k, v in lhs.items() if k in rhs}
        return {**rhs, **lhs}
    apply = ARITHMETIC.get(op) or COMPARISON[op]
    filtering = op in COMPARISON
    if isinstance(lhs, float) and isinstance(rhs, float):
        return float(apply(lhs, rhs))
    if isinstance(lhs, dict) and isinstance(rhs, float):
        pairs = {k: (v, rhs) for k, v in lhs.items()}
    elif isinstance(lhs, float) and isinstance(rhs, dict):
        pairs = {k: (lhs, v) for k, v in rhs.items()}
    else:
        assert isinstance(lhs, dict) and isinstance(rhs, dict)
        pairs = {k: (v, rhs[k]) for k, v in lhs.items() if k in rhs}
    out: Vector = {}
    for k, (a, b) in pairs.items():
        result = apply(a, b)
        if filtering:
            if result:
                out[k] = a
        else:
            out[k] = float(result)
    return out


def firing(rules: dict[str, Any], store: Store, t: float) -> list[dict[str, str]]:
    """Evaluates the recording rules at ``t`` (storing their results as series), then the alerts; the labels of
    every alert that fires (its own labels over the expression's)."""
    fired: list[dict[str, str]] = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            value = evaluate(rule["expr"], store, t)
            vector = value if isinstance(value, dict) else {frozenset(): value}
            extra = rule.get("labels", {})
            if "record" in rule:
                for labels, v in vector.items():
                    if not math.isnan(v):
                        store.add(rule["record"], {**dict(labels), **extra}, t, v)
            else:
                fired.extend({"alertname": rule["alert"], **dict(labels), **extra} for labels in vector)
    return fired
