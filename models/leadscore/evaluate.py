"""Predictive lead scoring on simulated tenants with known drivers, beside the rule score, in one run.

    python -m models.leadscore.evaluate [--out benchmarks/results/lead_scoring_eval.json] [--repeats 10]

For each tenant size (outcomes: converted + lost leads it has seen), ``--repeats`` tenants are simulated
(:mod:`models.leadscore.simulate`); each gets

* the **rule score** (:mod:`models.leadscore.rules`, what every tenant starts with), and, to compare
  probabilities fairly, the rule score calibrated on the tenant's own leads (isotonic);
* its **own model** fitted on its outcomes (:class:`models.leadscore.model.LeadScoringModel`);
* the **gate** (:func:`models.leadscore.model.decide`): would the tenant switch to its model, judged only on
  its own held-out leads?

All are then scored on 20,000 fresh leads of the same tenant, where the truth is known: AUC, Brier score and
expected calibration error (10 bins), and the oracle's AUC (the true probabilities: the ceiling).

The learning curve answers "how many outcomes does a tenant need before its model wins?"; the gate's
record answers "does it ever switch to a model that is worse than the rule?".
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

from models.leadscore.model import LeadScoringModel, auc, decide, rule_scores
from models.leadscore.simulate import simulate

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "lead_scoring_eval.json"
SIZES = (50, 100, 200, 400, 800, 1600, 3200)
TEST_LEADS = 20_000


def brier(y: NDArray[np.int64], p: NDArray[np.float64]) -> float:
    return float(np.mean((p - y) ** 2))


def ece(y: NDArray[np.int64], p: NDArray[np.float64], bins: int = 10) -> float:
    """Expected calibration error: |mean predicted - observed rate| per probability decile, weighted by size."""
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return total


def one_tenant(size: int, seed: int) -> dict[str, Any]:
    train = simulate(size, seed=seed)
    test = simulate(TEST_LEADS, seed=seed + 1_000_000)
    facts, y = [lead.facts for lead in train], np.array([lead.converted for lead in train], dtype=np.int64)
    test_facts, test_y = [lead.facts for lead in test], np.array([lead.converted for lead in test], dtype=np.int64)
    rule = rule_scores(test_facts)
    row: dict[str, Any] = {
        "outcomes": size,
        "converted": int(y.sum()),
        "rule_auc": auc(test_y, rule),
        "oracle_auc": auc(test_y, np.array([lead.oracle for lead in test])),
    }
    if y.min() == y.max():
        return row | {"decision": "rule", "reason": "one outcome only"}
    from sklearn.isotonic import IsotonicRegression

    calibrated_rule = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(rule_scores(facts), y)
    rule_p = np.asarray(calibrated_rule.predict(rule), dtype=np.float64)
    model = LeadScoringModel.fit(facts, y.tolist(), seed=seed)
    model_p = model.predict(test_facts)
    decision = decide(facts, y.astype(bool).tolist(), seed=seed)
    return row | {
        "model_auc": auc(test_y, model_p),
        "model_brier": brier(test_y, model_p),
        "model_ece": ece(test_y, model_p),
        "calibrated_rule_brier": brier(test_y, rule_p),
        "calibrated_rule_ece": ece(test_y, rule_p),
        "decision": decision.use,
        "reason": decision.reason,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if key in r]
        return round(float(np.mean(values)), 4) if values else None

    adopted = [r for r in rows if r["decision"] == "model"]
    return {
        "outcomes": rows[0]["outcomes"],
        "tenants": len(rows),
        "rule_auc": mean("rule_auc"),
        "model_auc": mean("model_auc"),
        "oracle_auc": mean("oracle_auc"),
        "model_beats_rule_share": round(float(np.mean([r.get("model_auc", 0.0) > r["rule_auc"] for r in rows])), 3),
        "adopted_share": round(len(adopted) / len(rows), 3),
        "adopted_but_worse": sum(r["model_auc"] < r["rule_auc"] for r in adopted),
        "model_brier": mean("model_brier"),
        "calibrated_rule_brier": mean("calibrated_rule_brier"),
        "model_ece": mean("model_ece"),
        "calibrated_rule_ece": mean("calibrated_rule_ece"),
    }


def plot(curve: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [c["outcomes"] for c in curve]
    fig, left = plt.subplots(figsize=(8, 4.5))
    left.plot(sizes, [c["oracle_auc"] for c in curve], "k:", label="ceiling (true probabilities)")
    left.plot(sizes, [c["model_auc"] for c in curve], "o-", color="tab:blue", label="tenant's model")
    left.plot(sizes, [c["rule_auc"] for c in curve], "s--", color="tab:gray", label="rule score")
    left.set_xscale("log")
    left.set_xticks(sizes, [str(s) for s in sizes])
    left.set_xlabel("outcomes the tenant has (converted + lost leads)")
    left.set_ylabel("AUC on 20,000 fresh leads")
    right = left.twinx()
    right.bar(sizes, [c["adopted_share"] for c in curve], width=[s * 0.25 for s in sizes], alpha=0.2,
              color="tab:green", label="tenants whose gate adopts the model")  # fmt: skip
    right.set_ylim(0, 1)
    right.set_ylabel("share of tenants adopting the model")
    lines = left.get_legend_handles_labels()
    bars = right.get_legend_handles_labels()
    left.legend(lines[0] + bars[0], lines[1] + bars[1], loc="lower right", fontsize=8)
    left.set_title("Predictive lead scoring: how many outcomes before a tenant's model wins")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--repeats", type=int, default=10, help="simulated tenants per size (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    started = time.monotonic()
    curve = []
    all_rows = []
    for size in SIZES:
        rows = [one_tenant(size, args.seed * 10_000 + size * 100 + r) for r in range(args.repeats)]
        all_rows.extend(rows)
        curve.append(summarise(rows))
        c = curve[-1]
        print(
            f"[leadscore] {size:>5} outcomes: model AUC {c['model_auc']} vs rule {c['rule_auc']} "
            f"(ceiling {c['oracle_auc']}); gate adopts {c['adopted_share']:.0%} "
            f"({time.monotonic() - started:.0f}s)",
            file=sys.stderr,
            flush=True,
        )
    at = {c["outcomes"]: c for c in curve}
    wins = [
        c["outcomes"] for c in curve if (c["model_auc"] or 0) > c["rule_auc"] and c["model_beats_rule_share"] >= 0.9
    ]
    adopted = [c["outcomes"] for c in curve if c["adopted_share"] >= 0.5]
    report = {
        "evaluation": "predictive lead scoring vs the rule score",
        "data": "simulated tenants with known drivers (models.leadscore.simulate), "
        f"scored on {TEST_LEADS:,} fresh leads each",
        "repeats": args.repeats,
        "learning_curve": curve,
        "min_outcomes_model_beats_rule": wins[0] if wins else None,
        "min_outcomes_gate_adopts_half": adopted[0] if adopted else None,
        "adopted_but_worse_total": sum(c["adopted_but_worse"] for c in curve),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "seconds": round(time.monotonic() - started, 1),
    }
    report["goals"] = {
        "model_auc_beats_rule_by_0_05_at_400_outcomes": (at[400]["model_auc"] or 0) - at[400]["rule_auc"] >= 0.05,
        "model_brier_lt_calibrated_rule_at_400_outcomes": (at[400]["model_brier"] or 1)
        < (at[400]["calibrated_rule_brier"] or 0),
        "model_ece_le_0_02_at_800_outcomes": (at[800]["model_ece"] or 1) <= 0.02,
        "gate_never_adopts_a_worse_model": report["adopted_but_worse_total"] == 0,
        "gate_keeps_the_rule_below_min_outcomes": at[50]["adopted_share"] == 0.0,
    }
    print(f"\n{'outcomes':>8}{'rule AUC':>10}{'model AUC':>11}{'ceiling':>9}{'adopted':>9}"
          f"{'model Brier':>13}{'rule Brier':>12}{'model ECE':>11}")  # fmt: skip
    for c in curve:
        print(
            f"{c['outcomes']:>8}{c['rule_auc']:>10.3f}{c['model_auc'] or 0:>11.3f}{c['oracle_auc']:>9.3f}"
            f"{c['adopted_share']:>9.0%}{c['model_brier'] or 0:>13.4f}{c['calibrated_rule_brier'] or 0:>12.4f}"
            f"{c['model_ece'] or 0:>11.4f}"
        )
    print(f"the model beats the rule from {report['min_outcomes_model_beats_rule']} outcomes; the gate adopts it "
          f"for half the tenants from {report['min_outcomes_gate_adopts_half']}")  # fmt: skip
    print(f"goals: {report['goals']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    picture = args.out.with_suffix(".png")
    plot(curve, picture)
    print(f"wrote {args.out} and {picture}")


if __name__ == "__main__":
    main()
