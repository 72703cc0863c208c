"""Run every registered model's held-out evaluation, one after another.

    python -m models.evaluate [NAME ...]      # default: every model that has an evaluation

Each evaluation prints its figures next to its baselines and writes its JSON
result under ``benchmarks/results/`` (see the README's figures).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from models.registry import registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"models to evaluate: {', '.join(sorted(registry.specs))}")
    args = parser.parse_args(argv)
    names = args.names or [name for name, spec in registry.specs.items() if spec.evaluate]
    failed = []
    for name in names:
        spec = registry.spec(name)
        if spec.evaluate is None:
            print(f"[evaluate] {name}: no evaluation registered", file=sys.stderr)
            continue
        print(f"[evaluate] {name} ({spec.evaluate}) …", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            importlib.import_module(spec.evaluate).main([])
        except Exception as exc:  # report and go on with the others
            failed.append(name)
            print(f"[evaluate] {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"[evaluate] {name} done in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
