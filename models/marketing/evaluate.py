"""The marketing models against known truth, each next to its baseline, in one run.

    python -m models.marketing.evaluate [ab] [attribution] [budget] [recommend] [--quick]

* ``ab`` → ``benchmarks/results/marketing_ab.json``: A/A false-positive rate under continuous monitoring
  (always-valid test vs a naive z-test at every peek), power at a stated lift (vs one fixed-horizon test),
  regret of Thompson allocation vs an equal split, CUPED's variance reduction.
* ``attribution`` → ``marketing_attribution.json``: per model, the mean absolute error of each channel's
  share against the true incremental shares; credits summing to the conversions; runtime for 1M journeys.
* ``budget`` → ``marketing_budget.json``: over several simulated histories, the fitted optimiser's outcome
  on the true curves as a share of the oracle's, against the equal and the current split.

* ``recommend`` → ``marketing_recommend.json``: recall@10 and NDCG@10 on MovieLens (time-based split per
  user) of the hybrid recommender against most-popular, content-only and collaborative-only.

``--quick`` runs smaller versions (for a smoke test; its JSON is not the README's figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
PARTS = ("ab", "attribution", "budget", "recommend")


def _log(message: str) -> None:
    print(f"[marketing] {message}", file=sys.stderr, flush=True)


def evaluate_ab(quick: bool, seed: int) -> dict[str, Any]:
    from models.marketing.ab_simulate import cuped_effect, monitor, regret

    scale = 5 if quick else 1
    _log("A/A experiments, peeked at every look …")
    aa = monitor((0.05, 0.05), experiments=4000 // scale, peeks=50, per_peek=200, seed=seed)
    _log("power at a 20 % lift (5 % → 6 %) …")
    power = monitor((0.05, 0.06), experiments=2000 // scale, peeks=40, per_peek=500, seed=seed + 1)
    _log("regret: Thompson allocation vs an equal split …")
    two = regret((0.05, 0.06), runs=200 // scale, sends=20_000, batch=200, seed=seed + 2)
    three = regret((0.04, 0.05, 0.06), runs=100 // scale, sends=20_000, batch=200, seed=seed + 3)
    _log("CUPED …")
    cuped = cuped_effect(experiments=40 // scale, recipients=2000, correlation=0.6, seed=seed + 4)
    return {
        "evaluation": "marketing_ab",
        "simulator": "two-arm Bernoulli experiments with known rates (models/marketing/ab_simulate.py)",
        "alpha": 0.05,
        "aa_continuous_monitoring": asdict(aa),
        "power": {**asdict(power), "stated_effect": "conversion 5 % → 6 % (20 % relative lift)"},
        "regret_two_arms": asdict(two),
        "regret_three_arms": asdict(three),
        "cuped": asdict(cuped),
        "goals": {
            "aa_false_positive_rate_le_5pct": aa.always_valid_rejections <= 0.05,
            "power_ge_80pct_at_stated_effect": power.always_valid_rejections >= 0.8,
            "thompson_regret_lt_equal_split": two.thompson_regret < two.equal_split_regret
            and three.thompson_regret < three.equal_split_regret,
            "cuped_narrows_interval": cuped.interval_width_ratio < 1.0,
        },
    }


def evaluate_attribution(quick: bool, seed: int) -> dict[str, Any]:
    from models.marketing.attribution import MODELS, AttributionRequest, Journey, credits
    from models.marketing.attribution_simulate import WORLD, simulate

    people = 100_000 if quick else 1_000_000
    _log(f"simulating {people:,} journeys …")
    world = simulate(people, seed=seed)
    started = time.perf_counter()
    counts = world.counts()
    aggregate_s = time.perf_counter() - started
    total = counts.total_conversions
    per_model: dict[str, Any] = {}
    runtime: dict[str, float] = {"aggregate_paths": round(aggregate_s, 3)}
    sums_ok = True
    for model in MODELS:
        for order in (1, 2, 3) if model == "markov" else (None,):
            name = f"markov_order_{order}" if order else model
            options = AttributionRequest(journeys=[Journey(touches=[])], markov_order=order or 1, seed=seed)
            started = time.perf_counter()
            conv, revenue = credits(counts, model, options)
            runtime[name] = round(time.perf_counter() - started, 3)
            share = conv / conv.sum()
            sums_ok &= bool(np.isclose(conv.sum(), total) and np.isclose(revenue.sum(), counts.total_value))
            per_model[name] = {
                "share": {c: round(float(s), 4) for c, s in zip(counts.channels, share, strict=True)},
                "share_mae": round(float(np.abs(share - world.true_share).mean()), 4),
            }
            _log(f"{name:<16} share MAE {per_model[name]['share_mae']:.4f} ({runtime[name]:.2f} s)")
    best_markov = min(per_model[f"markov_order_{o}"]["share_mae"] for o in (1, 2, 3))
    last = per_model["last_touch"]["share_mae"]
    return {
        "evaluation": "marketing_attribution",
        "simulator": "additive lifts per channel, funnel-ordered touches (models/marketing/attribution_simulate.py)",
        "journeys": people,
        "conversions": world.conversions,
        "distinct_paths": len(counts.conversions) + len(counts.nulls),
        "world": [asdict(c) for c in WORLD],
        "true_share": {c: round(float(s), 4) for c, s in zip(counts.channels, world.true_share, strict=True)},
        "models": per_model,
        "runtime_s": runtime,
        "runtime_all_models_s": round(sum(runtime.values()), 3),
        "goals": {
            "shapley_share_mae_lt_last_touch": per_model["shapley"]["share_mae"] < last,
            "markov_share_mae_lt_last_touch": best_markov < last,
            "credits_sum_to_conversions_and_revenue": sums_ok,
            "all_models_on_1m_journeys_le_60s": not quick and sum(runtime.values()) <= 60.0,
        },
    }


def evaluate_budget(quick: bool, seed: int) -> dict[str, Any]:
    from models.marketing.budget_simulate import NAMES, TRUTH, simulate

    histories = 3 if quick else 8
    runs = []
    for i in range(histories):
        started = time.perf_counter()
        run = simulate(seed=seed + i, bootstrap=10 if quick else 30)
        runs.append({**asdict(run), "seconds": round(time.perf_counter() - started, 2)})
        _log(f"history {i + 1}/{histories}: {run.share_of_oracle:.1%} of the oracle's outcome (R² {run.fit_r2:.2f})")
    outcome = {k: float(np.mean([r["true_outcome"][k] for r in runs])) for k in runs[0]["true_outcome"]}
    share = [r["share_of_oracle"] for r in runs]
    return {
        "evaluation": "marketing_budget",
        "simulator": "4 channels, adstock + Hill, 104 noisy weeks, dark weeks (models/marketing/budget_simulate.py)",
        "fit": "MAP least squares (scipy) with weak priors; residual bootstrap for intervals",
        "channels": {n: asdict(c) for n, c in zip(NAMES, TRUTH, strict=True)},
        "histories": histories,
        "mean_true_outcome": {k: round(v, 2) for k, v in outcome.items()},
        "share_of_oracle": {"mean": round(float(np.mean(share)), 4), "min": round(float(np.min(share)), 4)},
        "equal_split_share_of_oracle": round(outcome["equal_split"] / outcome["oracle"], 4),
        "current_split_share_of_oracle": round(outcome["current_split"] / outcome["oracle"], 4),
        "histories_beating_equal": sum(
            r["true_outcome"]["fitted_optimiser"] > r["true_outcome"]["equal_split"] for r in runs
        ),
        "histories_beating_current": sum(
            r["true_outcome"]["fitted_optimiser"] > r["true_outcome"]["current_split"] for r in runs
        ),
        "gain_interval_covers_true_gain": sum(
            r["gain_interval"] is not None and r["gain_interval"][0] <= r["true_gain"] <= r["gain_interval"][1]
            for r in runs
        ),
        "runs": runs,
        "goals": {
            "mean_share_of_oracle_ge_95pct": float(np.mean(share)) >= 0.95,
            "beats_equal_split_on_average": outcome["fitted_optimiser"] > outcome["equal_split"],
            "beats_current_split_on_average": outcome["fitted_optimiser"] > outcome["current_split"],
        },
    }


def evaluate_recommend(quick: bool, seed: int) -> dict[str, Any]:
    from models.marketing.recommend_evaluate import evaluate

    return evaluate()


def _print_recommend(r: dict[str, Any]) -> None:
    print(f"\nrecommendations — MovieLens, {r['test_users']} test users ({r['split']})")
    print(f"  {'model':<20}{'recall@10':>10}{'NDCG@10':>10}{'ms/user':>10}")
    for name, m in r["results"].items():
        print(f"  {name:<20}{m['recall_at_10']:>10.4f}{m['ndcg_at_10']:>10.4f}{m['ms_per_user']:>10.2f}")
    print(f"  hybrid weights {r['weights']}")


def _print_ab(r: dict[str, Any]) -> None:
    aa, power = r["aa_continuous_monitoring"], r["power"]
    print(f"\nA/B — A/A, {aa['experiments']} experiments, {aa['peeks']} peeks up to {aa['recipients_per_arm']:,}/arm")
    print(f"  {'false-positive rate':<40}{'always-valid':>14}{'naive z every peek':>20}{'naive z once':>14}")
    print(
        f"  {'':<40}{aa['always_valid_rejections']:>14.3f}{aa['naive_every_peek_rejections']:>20.3f}"
        f"{aa['naive_final_only_rejections']:>14.3f}"
    )
    print(
        f"  power at {power['stated_effect']}, {power['recipients_per_arm']:,}/arm: always-valid "
        f"{power['always_valid_rejections']:.3f} vs one fixed test {power['naive_final_only_rejections']:.3f}; "
        f"median stop at {power['median_stop_fraction']:.0%} of the size"
    )
    for key in ("regret_two_arms", "regret_three_arms"):
        g = r[key]
        print(
            f"  regret {g['rates']}: Thompson {g['thompson_regret']:.1f} vs equal split {g['equal_split_regret']:.1f} "
            f"conversions lost per {g['sends']:,} sends"
        )
    c = r["cuped"]
    print(
        f"  CUPED (ρ = {c['correlation']}): variance −{c['variance_reduction']:.0%}, "
        f"interval ×{c['interval_width_ratio']:.2f}"
    )


def _print_attribution(r: dict[str, Any]) -> None:
    print(f"\nattribution — {r['journeys']:,} journeys, {r['conversions']:,} conversions; share MAE vs truth")
    for name, m in r["models"].items():
        print(f"  {name:<18}{m['share_mae']:>8.4f}{r['runtime_s'][name]:>8.2f} s")
    print(f"  all models incl. aggregation: {r['runtime_all_models_s']:.1f} s")


def _print_budget(r: dict[str, Any]) -> None:
    print(f"\nbudget — {r['histories']} histories; mean outcome on the true curves (channels' part)")
    for name, value in r["mean_true_outcome"].items():
        print(f"  {name:<18}{value:>10.1f}")
    share, n = r["share_of_oracle"], r["histories"]
    print(
        f"  fitted optimiser: {share['mean']:.1%} of the oracle on average (worst {share['min']:.1%}); "
        f"beats equal in {r['histories_beating_equal']}/{n}, current in {r['histories_beating_current']}/{n}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("parts", nargs="*", choices=[*PARTS, []], help="default: all four")
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    runners = {
        "ab": (evaluate_ab, _print_ab),
        "attribution": (evaluate_attribution, _print_attribution),
        "budget": (evaluate_budget, _print_budget),
        "recommend": (evaluate_recommend, _print_recommend),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for part in args.parts or PARTS:
        run, show = runners[part]
        report = run(args.quick, args.seed)
        show(report)
        print("  goals: " + ", ".join(f"{k} {'✓' if v else '✗'}" for k, v in report["goals"].items()))
        path = args.out_dir / f"marketing_{part}{'_quick' if args.quick else ''}.json"
        path.write_text(json.dumps(report, indent=2))
        print(f"  wrote {path}")


if __name__ == "__main__":
    main()
