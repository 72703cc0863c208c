"""The engine's web dashboard: a page served by the engine that shows its insights live (``/dashboard``)."""
