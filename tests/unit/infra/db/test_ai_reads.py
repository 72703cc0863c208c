import pytest

from infra.db.ai_reads import account_intent


def test_account_intent_is_the_chance_one_of_its_people_converts() -> None:
    assert account_intent([]) == 0.0
    assert account_intent([{"score": 70.0}]) == 70.0
    assert account_intent([{"score": 50.0}, {"score": 50.0}]) == 75.0
    three_warm = account_intent([{"score": 40.0}] * 3)
    assert three_warm > 40.0 and three_warm == pytest.approx(78.4)
    assert account_intent([{"score": 120.0}]) == 100.0  # out of range is clipped
