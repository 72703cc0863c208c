"""Stored mentions for tests that seed ``ai.social_insights`` directly (as an older model would have left them)."""

# $1 tid, $2 mid, $3 id, $4 text, $5 posted_at, $6 embedding (pgvector), $7 embedding_model (NULL: no version kept)
INSERT_MENTION = """
INSERT INTO ai.social_insights (tid, whid, mid, id, event_type, platform, brand, text, posted_at, sentiment,
    sentiment_score, probabilities, embedding, embedding_model)
VALUES ($1, NULL, $2, $3, 'social.twitter.mention', 'twitter', 'acme', $4, $5, 'neutral', 0, '{}'::jsonb, $6, $7)
"""
