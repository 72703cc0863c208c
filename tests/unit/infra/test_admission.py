"""infra.admission: a call is refused at once when it would wait past the budget, with the expected wait."""

from __future__ import annotations

import pytest

from infra.admission import WaitBudget
from infra.errors import AtCapacity


def _paced(per_pass: float, per_item: float, max_wait_s: float = 0.5) -> WaitBudget:
    budget = WaitBudget(max_wait_s, max_batch=32)
    for size in (1, 32, 8, 32, 1):
        budget.observe(size, per_pass + size * per_item)
    return budget


def test_the_pace_is_fitted_as_a_fixed_cost_per_pass_plus_a_cost_per_item() -> None:
    per_pass, per_item = _paced(0.02, 0.01).cost()
    assert per_pass == pytest.approx(0.02, rel=1e-6)
    assert per_item == pytest.approx(0.01, rel=1e-6)


def test_work_that_fits_the_budget_is_admitted_and_the_rest_refused_with_retry_after() -> None:
    budget = _paced(0.02, 0.01)  # 32 texts: 0.02 + 0.32 s; 40 texts: two passes, 0.44 s
    budget.admit(32)
    budget.admit(8)
    with pytest.raises(AtCapacity) as refused:
        budget.admit(8)  # 48 texts: 0.04 + 0.48 s > 0.5 s
    assert refused.value.headers == {"Retry-After": "1"}
    assert refused.value.status == 503 and refused.value.extra["retry_after_s"] == 1
    assert (budget.admitted, budget.refused) == (40, 1)
    budget.release(32)
    budget.admit(8)  # room again once answered
    assert budget.admitted == 16


def test_a_long_backlog_names_its_length_in_retry_after() -> None:
    budget = _paced(0.0, 0.1, max_wait_s=5.0)
    budget.admit(40)  # 4 s queued
    with pytest.raises(AtCapacity) as refused:
        budget.admit(20)
    assert refused.value.headers == {"Retry-After": "4"}


def test_an_idle_model_admits_any_call_and_an_unmeasured_one_admits_everything() -> None:
    budget = _paced(0.02, 0.01)
    budget.admit(256)  # nothing admitted: a large batch is slow, not overload
    assert budget.admitted == 256
    fresh = WaitBudget(0.1)
    for _ in range(10):
        fresh.admit(100)
    assert fresh.expected_wait_s() == 0.0


def test_passes_of_one_size_only_still_give_a_pace() -> None:
    budget = WaitBudget(1.0)
    budget.observe(4, 0.2)
    budget.observe(4, 0.2)
    assert budget.cost() == (0.0, pytest.approx(0.05))
    with pytest.raises(ValueError, match="max_wait_s"):
        WaitBudget(0)


def test_passes_are_sized_to_answer_the_waiting_items_soonest() -> None:
    """Mean answer time over passes of k is least at k = sqrt(waiting * per_pass / per_item)."""
    no_fixed_cost = _paced(0.0005, 0.0125)  # float32 without native bfloat16: 32 texts cost 32 lone ones
    assert [no_fixed_cost.pass_size(n) for n in (1, 8, 32)] == [1, 1, 1]
    batching_pays = _paced(0.04, 0.005)  # a pass's fixed cost is 8 texts' worth
    assert [batching_pays.pass_size(n) for n in (1, 2, 8, 32, 500)] == [3, 4, 8, 16, 32]
    assert WaitBudget(0.5, max_batch=32).pass_size(5) == 32  # no pace yet: take everything, as before
