"""Typed errors of the model layer (no dependency on the CRM core or Ray).

Bad input is the engine's one :class:`infra.errors.InvalidInput` (422 / INVALID_ARGUMENT at every boundary),
raised here under the name the models have always used.
"""

from __future__ import annotations

from infra.errors import InvalidInput

__all__ = ["ArtifactNotFound", "InvalidInput", "ModelError"]


class ModelError(Exception):
    """Root of the model layer's deliberate errors other than bad input."""


class ArtifactNotFound(ModelError, FileNotFoundError):
    """A trained artifact is missing: the message names the command that builds it."""
