"""Make Ray Serve's "no ``SO_REUSEPORT``" for a replica's gRPC server take effect (a fix for ray 2.60.0).

In direct ingress (and so HAProxy mode) every ingress replica starts a gRPC server on a port the controller
picks from the direct range of the replica's node. Ray means to bind it without ``SO_REUSEPORT`` so that a
port already held makes the bind fail and the replica move to the next one. It passes the option as
``("grpc.so_reuseport", "0")``, a string, and gRPC reads only integer values for it, so the option stays
at its default, on: the bind succeeds on a held port.

The controller picks ports per Ray node, so two nodes on one machine (cluster/README.md, the multi-node
tests) hand out the same ports. A model Gateway replica on one node and a Dashboard replica on the other
both held one gRPC port, the kernel shared HAProxy's connections between them, and every other gRPC call
for the model application got the Dashboard's ``NOT_FOUND``. :func:`apply` turns such string values into
the integers gRPC reads, in the replica's process; each ingress deployment calls it in its constructor,
which Serve runs before it starts the replica's direct ingress servers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

OPTION = "grpc.so_reuseport"
_MARK = "_vettify_integer_reuseport"


def integer_options(options: list[tuple[str, Any]] | None) -> list[tuple[str, Any]] | None:
    """``options`` with a string ``grpc.so_reuseport`` value as the integer gRPC reads; others unchanged."""
    if options is None:
        return None
    return [(key, int(value) if key == OPTION and isinstance(value, str) else value) for key, value in options]


def apply() -> bool:
    """Patch Serve's gRPC server class in this process (once); False when it already was."""
    from ray.serve._private import grpc_util

    server_class: Any = grpc_util.gRPCGenericServer
    if getattr(server_class, _MARK, False):
        return False
    original: Callable[..., None] = server_class.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, extra_options: list[tuple[str, Any]] | None = None, **kwargs: Any) -> None:
        original(self, *args, extra_options=integer_options(extra_options), **kwargs)

    server_class.__init__ = __init__
    setattr(server_class, _MARK, True)
    return True
