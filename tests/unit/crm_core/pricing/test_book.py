"""Unit tests of the price book's guard rails (``crm_core.pricing.book.rail_breaches``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from crm_core.pricing.book import rail_breaches
from crm_core.schemas.pricing import Product


def _product(**rails: object) -> Product:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "sku": "CAF",
        "name": "Cafea",
        "currency": "RON",
        "price": Decimal("80.00"),
        "cost": Decimal("50.00"),
        "min_price": None,
        "max_price": None,
        "max_step": 0.1,
        "min_margin": 0.0,
        "mode": "suggest",
        "explore": False,
        "elasticity": None,
        "competitor_price": None,
        "reference_competitor_price": None,
        "inventory_per_day": None,
        "reprice_every_s": 86400,
        "repriced_at": None,
        "last_proposal": None,
        "updated_at": datetime.now(UTC),
    }
    return Product.model_validate({**base, **rails})


def test_bounds_floor_and_step_are_each_named() -> None:
    product = _product(min_price=Decimal("60"), max_price=Decimal("100"), min_margin=0.3)
    assert rail_breaches(product, Decimal("80"), step_from=Decimal("80")) == []
    assert rail_breaches(product, Decimal("101"), step_from=None) == ["above max_price 100"]
    floor, minimum = rail_breaches(product, Decimal("59"), step_from=None)
    assert floor.startswith("below the floor 65.00") and minimum == "below min_price 60"
    [step] = rail_breaches(product, Decimal("90"), step_from=Decimal("80"))
    assert step.startswith("a step of 12.5% from 80")
    assert rail_breaches(product, Decimal("88"), step_from=Decimal("80")) == []  # exactly the 10 % step


def test_a_manual_change_is_not_bound_by_the_step_limit() -> None:
    assert rail_breaches(_product(), Decimal("200"), step_from=None) == []
