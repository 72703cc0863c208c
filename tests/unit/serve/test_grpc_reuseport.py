"""The fix for Ray 2.60's string ``grpc.so_reuseport``, on real gRPC servers bound to one port."""

from __future__ import annotations

from typing import Any

from ray.serve._private.grpc_util import gRPCGenericServer

from serve import grpc_reuseport


def _handlers(*_: Any) -> Any:
    return None


def _bind_twice() -> tuple[int, BaseException | None]:
    """Two Serve gRPC servers asked, as Ray asks for a replica, to bind one port without SO_REUSEPORT."""
    first = gRPCGenericServer(_handlers, extra_options=[(grpc_reuseport.OPTION, str(int(False)))])
    port = first.add_insecure_port("[::]:0")
    second = gRPCGenericServer(_handlers, extra_options=[(grpc_reuseport.OPTION, str(int(False)))])
    try:
        second.add_insecure_port(f"[::]:{port}")
    except RuntimeError as exc:
        return port, exc
    return port, None


def test_options_become_integers_and_others_stay() -> None:
    options = [("grpc.so_reuseport", "0"), ("grpc.max_send_message_length", 10), ("grpc.so_reuseport", 1)]
    assert grpc_reuseport.integer_options(options) == [
        ("grpc.so_reuseport", 0),
        ("grpc.max_send_message_length", 10),
        ("grpc.so_reuseport", 1),
    ]
    assert grpc_reuseport.integer_options(None) is None


async def test_a_held_port_fails_to_bind_once_applied() -> None:
    if not getattr(gRPCGenericServer, grpc_reuseport._MARK, False):  # unpatched in this process so far
        _, error = _bind_twice()
        assert error is None  # the bug: the string "0" leaves SO_REUSEPORT on and both servers hold the port
    grpc_reuseport.apply()
    assert grpc_reuseport.apply() is False  # once per process
    port, error = _bind_twice()
    assert error is not None and str(port) in str(error)
