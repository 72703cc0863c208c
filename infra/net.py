"""Small network helpers."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def cluster_address_problem(address: str, timeout_s: float = 5.0) -> str | None:
    """Why a Ray cluster address cannot be joined, or ``None`` when its head answers on TCP (or it is ``auto``).

    ``ray.init`` waits for a long time on an address nobody listens on, and says little; a second's check
    lets the CLI say what is wrong. ``host:port`` and ``ray://host:port`` are checked.
    """
    if address in ("auto", "local"):
        return None
    bare = address.removeprefix("ray://")
    host, sep, port_text = bare.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        return f"{address!r} is not host:port (e.g. 10.0.0.5:6379) or auto"
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"nothing answers at {host}:{port_text} ({exc.strerror or exc})"
