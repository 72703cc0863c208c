"""Unit tests of ``infra.net``."""

from __future__ import annotations

import socket

from infra.net import cluster_address_problem, free_port


def test_a_listening_head_and_auto_are_fine() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert cluster_address_problem(f"127.0.0.1:{port}") is None
        assert cluster_address_problem(f"ray://127.0.0.1:{port}") is None
    assert cluster_address_problem("auto") is None


def test_nobody_listening_and_malformed_addresses_are_explained() -> None:
    problem = cluster_address_problem(f"127.0.0.1:{free_port()}", timeout_s=1)
    assert problem is not None and problem.startswith("nothing answers at 127.0.0.1:")
    assert "is not host:port" in (cluster_address_problem("head") or "")
    assert "is not host:port" in (cluster_address_problem("head:port") or "")
