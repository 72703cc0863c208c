"""``vettify slo``: validate service-level objectives against a running engine, and generate their alert rules.

    vettify slo run [--spec cluster/slo.yaml] [--target http://127.0.0.1:8000] [--grpc 127.0.0.1:9000]
    vettify slo rules [--spec …] [--out cluster/prometheus/vettify-slo-rules.yaml]
    vettify slo check [--spec …]

``run`` exits 0 when every objective holds, 1 when one does not (named on the last line), 2 when the spec or
the target cannot be used — so CI and deploy pipelines can gate on it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from urllib.parse import urlsplit

EXIT_FAILED, EXIT_UNUSABLE = 1, 2


def _spec(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from serve.slo.spec import DEFAULT_SPEC, SpecError, load_spec

    try:
        return load_spec(Path(args.spec) if args.spec else DEFAULT_SPEC)
    except SpecError as exc:
        print(f"vettify slo: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_UNUSABLE) from exc


def _source(args: argparse.Namespace) -> str:
    return str(args.spec or "cluster/slo.yaml")


def _cmd_check(args: argparse.Namespace) -> int:
    spec = _spec(args)
    print(f"{_source(args)}: {len(spec.objectives)} objective(s), tenant {spec.tenant}")
    for o in spec.objectives:
        print(f"  {o.name:28} {o.kind:14} {o.description}")
    return 0


def _cmd_rules(args: argparse.Namespace) -> int:
    from serve.slo.rules import render

    text = render(_spec(args), _source(args))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _token(args: argparse.Namespace, tenant: str) -> str | None:
    if args.token:
        return str(args.token)
    from infra.security import mint_token
    from serve.cli.common import settings_from
    from serve.slo.runner import TOKEN_SCOPES

    try:
        return mint_token(
            settings_from(args), sub="vettify-slo", tid=tenant, mid="main", scopes=TOKEN_SCOPES, ttl_s=3600
        )
    except ValueError as exc:
        print(f"vettify slo: cannot mint a token ({exc}); pass --token", file=sys.stderr)
        raise SystemExit(EXIT_UNUSABLE) from exc


def _cmd_run(args: argparse.Namespace) -> int:
    from serve.cli.common import settings_from
    from serve.slo import report
    from serve.slo.runner import TargetNotAllowed, check_host, run_sync, say, summary_line
    from serve.slo.spec import SpecError

    spec = _spec(args)
    try:
        objectives = spec.select(args.only)
    except SpecError as exc:
        print(f"vettify slo: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    settings = settings_from(args)
    http = args.target or f"http://127.0.0.1:{settings.http_port}"
    # gRPC on the HTTP target's host unless told otherwise (a remote engine's gRPC is not on this machine)
    host = urlsplit(http).hostname or "127.0.0.1"
    grpc = args.grpc or (f"[{host}]" if ":" in host else host) + f":{settings.grpc_port}"
    try:
        check_host(http, args.allow_host)
        check_host(grpc, args.allow_host)
    except TargetNotAllowed as exc:
        print(f"vettify slo: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    local_ray = False
    if args.ray_address:
        import ray

        ray.init(address=args.ray_address, namespace="serve", log_to_driver=False, logging_level=logging.ERROR)
        local_ray = True
    out = Path(args.out)
    previous_path = Path(args.compare) if args.compare else report.latest_report(out)
    result = run_sync(
        spec, objectives, http=http, grpc=grpc, token=_token(args, spec.tenant), spec_source=_source(args),
        local_ray=local_ray,
    )  # fmt: skip
    paths = report.write(result, out, report.load_previous(previous_path))
    print()
    for objective in result.objectives:
        print(f"{objective.status.upper():8} {objective.name:28} {summary_line(objective)}")
    say(f"report: {paths['html']} (also {paths['json'].name}, {paths['md'].name})")
    if result.passed:
        print(f"\nall {len(result.objectives)} objective(s) met")
        return 0
    print(f"\nobjective(s) missed: {', '.join(result.failed)}")
    return EXIT_FAILED


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    slo = sub.add_parser("slo", help="validate service-level objectives against a running engine; alert rules")
    commands = slo.add_subparsers(dest="slo_command", required=True)
    spec_help = "the objectives (default: cluster/slo.yaml, shipped with the engine)"

    run = commands.add_parser("run", help="drive each objective against a running engine; a verdict per objective")
    run.add_argument("--spec", help=spec_help)
    run.add_argument("--target", help="the engine's HTTP base URL (default http://127.0.0.1:$VETTIFY_HTTP_PORT)")
    run.add_argument("--grpc", help="the engine's gRPC HOST:PORT (default: the target's host, $VETTIFY_GRPC_PORT)")
    run.add_argument("--token", help="a bearer token for the spec's tenant (default: minted with VETTIFY_JWT_SECRET)")
    run.add_argument("--only", nargs="+", metavar="NAME", help="run only these objectives")
    run.add_argument("--out", default="slo-reports", help="where the JSON, Markdown and HTML reports go")
    run.add_argument("--compare", help="a previous run's JSON to compare with (default: the newest in --out)")
    run.add_argument(
        "--allow-host", action="append", default=[], metavar="HOST", help="a non-local host you operate (repeatable)"
    )
    run.add_argument(
        "--ray-address", help="the target's Ray cluster (e.g. auto): enables fault injection (availability objectives)"
    )
    run.set_defaults(func=_cmd_run)

    rules = commands.add_parser("rules", help="Prometheus recording and burn-rate alert rules from the spec")
    rules.add_argument("--spec", help=spec_help)
    rules.add_argument("--out", help="write to this file instead of stdout")
    rules.set_defaults(func=_cmd_rules)

    check = commands.add_parser("check", help="validate a spec and list its objectives")
    check.add_argument("--spec", help=spec_help)
    check.set_defaults(func=_cmd_check)
