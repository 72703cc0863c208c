"""The :class:`tests.support.ray_nodes.RayProbe` subprocess: a driver of one cluster, answering JSON lines.

Commands (a JSON array per line): ``["ping"]``, ``["nodes"]``, ``["replicas", APP, DEPLOYMENT]``,
``["actors_on", NODE_ID]``, ``["actors", CLASS_SUBSTRING]``, ``["hold_cpus", NODE_ID]``, ``["release"]``,
``["quit"]``.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

MARK = "@@probe "  # Ray's own messages may reach stdout too


def _nodes() -> list[dict[str, Any]]:
    import ray

    return [
        {"node_id": node["NodeID"], "cpus": node.get("Resources", {}).get("CPU", 0.0)}
        for node in ray.nodes()  # type: ignore[no-untyped-call]
        if node.get("Alive")
    ]


def _replicas(app: str, deployment: str) -> dict[str, Any]:
    from ray import serve
    from ray._private import state

    status = serve.status().applications.get(app)
    states: dict[str, int] = {}
    if status is not None and deployment in status.deployments:
        states = {str(k): int(v) for k, v in status.deployments[deployment].replica_states.items()}
    wanted = f"ServeReplica:{app}:{deployment}"
    nodes = [
        actor["Address"]["NodeID"]
        for actor in state.actors().values()
        if actor.get("ActorClassName") == wanted and actor.get("State") == "ALIVE"
    ]
    return {"states": states, "nodes": nodes}


def _actors_on(node_id: str) -> list[str]:
    """Class names of the live actors on one node."""
    from ray._private import state

    return sorted(
        str(actor.get("ActorClassName"))
        for actor in state.actors().values()
        if actor.get("State") == "ALIVE" and actor["Address"]["NodeID"] == node_id
    )


def _actors(substring: str) -> list[dict[str, Any]]:
    """Every actor whose class name contains ``substring``, in any state, with its node and why it died."""
    from ray._private import state

    return [
        {
            "class": str(actor.get("ActorClassName")),
            "state": str(actor.get("State")),
            "node_id": actor["Address"]["NodeID"],
            "restarts": actor.get("NumRestarts"),
            "death": str(actor.get("DeathCause") or "")[:300],
        }
        for actor in state.actors().values()
        if substring in str(actor.get("ActorClassName"))
    ]


class _Holds:
    """Actors that take a node's free CPUs, so a test decides where new work can go."""

    def __init__(self) -> None:
        self.actors: list[Any] = []

    def hold(self, node_id: str) -> float:
        import ray
        from ray._private import state
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        free = float(state.available_resources_per_node().get(node_id, {}).get("CPU", 0.0))
        cpus = int(free * 10) / 10  # Ray accounts CPUs in 1/10 000ths; keep a margin below what is free
        if cpus <= 0:
            return 0.0

        @ray.remote
        class CpuHold:
            def ready(self) -> bool:
                return True

        actor = CpuHold.options(  # type: ignore[attr-defined]
            num_cpus=cpus, scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)
        ).remote()
        ray.get(actor.ready.remote(), timeout=60)
        self.actors.append(actor)
        return cpus

    def release(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors.clear()


def main(address: str) -> None:
    import ray

    ray.init(address=address, namespace="serve", log_to_driver=False, logging_level=logging.ERROR)
    holds = _Holds()
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command[0] == "quit":
                print(MARK + json.dumps({"result": None}), flush=True)
                break
            if command[0] == "ping":
                result: Any = "pong"
            elif command[0] == "nodes":
                result = _nodes()
            elif command[0] == "actors_on":
                result = _actors_on(command[1])
            elif command[0] == "actors":
                result = _actors(command[1])
            elif command[0] == "hold_cpus":
                result = holds.hold(command[1])
            elif command[0] == "release":
                holds.release()
                result = None
            elif command[0] == "replicas":
                result = _replicas(command[1], command[2])
            else:
                raise ValueError(f"unknown command {command[0]!r}")
            print(MARK + json.dumps({"result": result}), flush=True)
        except Exception as exc:  # answered, so the test sees it
            print(MARK + json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
