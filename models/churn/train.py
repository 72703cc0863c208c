"""Train the churn model on CDNOW order histories and write a versioned artifact.

    python -m models.churn.train [--out DIR] [--seed 7]

Features are computed as of 1997-09-30 for every CDNOW customer (label: no
purchase in the next 39 weeks); XGBoost's depth and rounds are chosen by 4-fold
cross-validation over ``PARAM_GRID`` on the same rows. Writes ``DIR/churn-v<artifact>-<date>/`` with
the booster, the calibration map and ``metrics.json`` (in-sample fit and the
held-out cohort evaluation from :mod:`models.churn.evaluate`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from models.churn.data import load_cdnow
from models.churn.evaluate import cdnow_matrix, evaluate_cdnow, metrics
from models.churn.model import ARTIFACT_VERSION, ChurnModel, select_params


def latest_artifact(root: Path) -> Path | None:
    """The newest artifact folder of the current format under ``root``, if any."""
    found = sorted(root.glob(f"churn-v{ARTIFACT_VERSION}-*/manifest.json"))
    return found[-1].parent if found else None


def ensure_artifact(root: Path, seed: int = 7) -> Path:
    """The newest churn artifact under ``root``; trains one (about 15 s on 2 cores) when there is none."""
    existing = latest_artifact(root)
    if existing is not None:
        return existing
    print(f"[train] no churn model under {root}: training one from CDNOW …", file=sys.stderr, flush=True)
    x, y = cdnow_matrix(load_cdnow())
    model = ChurnModel.fit(x, y, seed=seed)
    model.metadata.update({"trained_rows": len(y), "churn_rate": float(y.mean()), "data": "CDNOW (lifetimes)"})
    return model.save(root / f"churn-v{ARTIFACT_VERSION}-{datetime.now(UTC):%Y%m%d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    print("[train] loading CDNOW purchases …", file=sys.stderr, flush=True)
    customers = load_cdnow()
    print(f"[train] computing features for {len(customers):,} customers …", file=sys.stderr, flush=True)
    x, y = cdnow_matrix(customers)
    print("[train] choosing XGBoost depth and rounds by 4-fold cross-validation …", file=sys.stderr, flush=True)
    params, search = select_params(x, y, seed=args.seed)
    print(f"[train] fitting XGBoost {params} + isotonic calibration …", file=sys.stderr, flush=True)
    model = ChurnModel.fit(x, y, seed=args.seed, params=params)
    print("[train] evaluating on the held-out March 1997 cohort …", file=sys.stderr, flush=True)
    held_out = evaluate_cdnow(args.seed)
    held_out.pop("model")
    folder = args.out / f"churn-v{ARTIFACT_VERSION}-{datetime.now(UTC):%Y%m%d}"
    model.metadata.update({"trained_rows": len(y), "churn_rate": float(y.mean()), "data": "CDNOW (lifetimes)"})
    model.save(folder)
    report = {
        "in_sample": metrics(y, model.predict(x)),
        "held_out": held_out,
        "parameter_search": search,
        "seconds": round(time.monotonic() - started, 1),
    }
    (folder / "metrics.json").write_text(json.dumps(report, indent=2))
    print(
        f"[train] wrote {folder} in {report['seconds']}s; held-out ROC-AUC {held_out['xgboost_calibrated']['roc_auc']}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
