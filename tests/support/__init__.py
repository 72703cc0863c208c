"""Launchers and helpers for real services used by tests and benchmarks."""
