"""Helpers shared by the ``vettify`` subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.settings import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the command line's overrides."""
    from infra.settings import Settings

    overrides: dict[str, object] = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["http_port"] = args.port
    if getattr(args, "grpc_port", None) is not None:
        overrides["grpc_port"] = args.grpc_port
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)  # type: ignore[arg-type]
