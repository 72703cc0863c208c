"""Extractive meeting/email summaries over sentence embeddings."""
