"""Prospect intent from LinkedIn activity: matching people to the CRM, intent scores, relationship strength.

Pure model code (no Ray, no database): :mod:`.signals` (the activity kinds and their prior weights),
:mod:`.matching` (who an activity's person is in the CRM, with a confidence, and conflicts),
:mod:`.intent` (the decayed intent score, its top signals, and weights learned from a tenant's outcomes),
:mod:`.relationships` (which of our users a prospect interacted with, and how strongly lately).
"""
