"""Unit tests of ``crm_core.anaf.resilience``."""

from __future__ import annotations

import time

import pytest

from crm_core.anaf.resilience import CircuitBreaker, CircuitOpen


def test_breaker_opens_after_the_threshold_and_half_opens_after_the_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=0.05)
    breaker.before_call()
    breaker.record_failure()
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    time.sleep(0.06)
    breaker.before_call()  # the single trial call
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # no second concurrent trial
    breaker.record_failure()
    assert breaker.state == "open"  # a failed trial re-opens immediately
    time.sleep(0.06)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
