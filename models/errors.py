"""Typed errors of the model layer (no dependency on the CRM core or Ray)."""

from __future__ import annotations


class ModelError(Exception):
    """Root of the model layer's deliberate errors."""


class InvalidInput(ModelError, ValueError):
    """The input cannot be scored as given; the message says what is wrong."""


class ArtifactNotFound(ModelError, FileNotFoundError):
    """A trained artifact is missing: the message names the command that builds it."""
