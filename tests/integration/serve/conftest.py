"""The session's Serve stack lives in ``tests/integration/conftest.py`` (streams tests share it)."""

from tests.integration.conftest import ServeStack

__all__ = ["ServeStack"]
