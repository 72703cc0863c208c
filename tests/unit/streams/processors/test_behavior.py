"""Unit tests of ``streams.processors.behavior``."""

from __future__ import annotations

from streams.processors.behavior import step_label


def test_journey_steps_keep_the_path_only() -> None:
    assert step_label("page_view", "https://shop.example/pricing?utm=x#top") == "page_view:/pricing"
    assert step_label("signup", None) == "signup"
