from datetime import UTC, datetime, timedelta

from models.prospects.relationships import Interaction, edges

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_pairs_are_ranked_by_recent_weighted_interactions_with_a_trend() -> None:
    items = [
        Interaction("ana", "p1", "message_reply", NOW - timedelta(days=1)),
        Interaction("ana", "p1", "profile_view", NOW - timedelta(days=40)),
        Interaction("dan", "p1", "profile_view", NOW - timedelta(days=60)),
        Interaction("dan", "p1", "post_reaction", NOW - timedelta(days=45)),
        Interaction("dan", "p2", "job_change", NOW),  # not an interaction with dan
    ]
    found = edges(items, NOW)
    assert [(e.user, e.prospect) for e in found] == [("ana", "p1"), ("dan", "p1")]
    ana, dan = found
    assert ana.trend == "rising" and ana.interactions == 2 and ana.last_at == NOW - timedelta(days=1)
    assert dan.trend == "cooling" and dan.strength < ana.strength
    assert edges([Interaction("eva", "p3", "post_comment", NOW)], NOW)[0].trend == "new"
