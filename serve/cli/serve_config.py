"""``vettify serve-config``: print, write or check ``cluster/serve_config.yaml`` against the code."""

from __future__ import annotations

import argparse
import sys

HEADER = (
    "# Ray Serve config for `serve run` / `serve deploy` and KubeRay's serveConfigV2.\n"
    "# Generated from the deployment options in serve/ by `vettify serve-config --write`;\n"
    "# the tests fail when it drifts from the code.\n"
)


def render() -> str:
    import yaml

    from serve.application import serve_config

    body: str = yaml.safe_dump(serve_config(), sort_keys=False, default_flow_style=False)
    return HEADER + body


def with_rayservice(manifest: str, config_text: str) -> str:
    """The RayService manifest with its ``serveConfigV2`` block replaced by the config (indented)."""
    marker = "  serveConfigV2: |\n"
    start = manifest.index(marker) + len(marker)
    end = manifest.index("  rayClusterConfig:")
    body = config_text.split("\n", HEADER.count("\n"))[-1]
    block = "\n".join(f"      {line}" if line else line for line in body.splitlines())
    return manifest[:start] + block + "\n" + manifest[end:]


def _cmd(args: argparse.Namespace) -> int:
    from serve.application import CONFIG_PATH

    text = render()
    if args.write:
        CONFIG_PATH.write_text(text)
        rayservice = CONFIG_PATH.parent / "kuberay" / "rayservice.yaml"
        rayservice.write_text(with_rayservice(rayservice.read_text(), text))
        print(f"wrote {CONFIG_PATH} and {rayservice}")
        return 0
    if args.check:
        current = CONFIG_PATH.read_text() if CONFIG_PATH.exists() else ""
        if current != text:
            print(f"{CONFIG_PATH} is stale: run `vettify serve-config --write`", file=sys.stderr)
            return 1
        print(f"{CONFIG_PATH} matches the code")
        return 0
    sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser("serve-config", help="print, write or check cluster/serve_config.yaml")
    group = command.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="regenerate cluster/serve_config.yaml")
    group.add_argument("--check", action="store_true", help="exit 1 when the file differs from the code")
    command.set_defaults(func=_cmd)
