"""Vettify Engine test suite: tests/unit (no servers) and tests/integration (real servers)."""
