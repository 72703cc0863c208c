"""``vettify batch``: bulk jobs on Ray Data over the stored data (re-embed, re-score churn, analyse calls)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.net import cluster_address_problem
from serve.cli.common import settings_from

if TYPE_CHECKING:
    from infra.db.tenancy import TenantContext
    from serve.batch.jobs import Endpoints, Report


def parse_tenant(value: str) -> TenantContext:
    """``TID/MID`` or ``TID/MID/WHID`` (a branch)."""
    from infra.db.tenancy import TenantContext, TenantContextError

    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise argparse.ArgumentTypeError(f"{value!r}: a tenant is TID/MID or TID/MID/WHID")
    try:
        return TenantContext(tid=parts[0], mid=parts[1], whid=parts[2] if len(parts) == 3 else None)
    except TenantContextError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from exc


def endpoints_from(args: argparse.Namespace) -> Endpoints:
    """Flags, then the environment (``VETTIFY_*``), then the running ``vettify up``'s ``engine.json``."""
    from serve import engine_file
    from serve.batch.jobs import Endpoints

    settings = settings_from(args)
    running = engine_file.read(settings.data_dir)
    dsn = args.dsn or settings.database_url or (running.database_url if running else None)
    if dsn is None:
        raise SystemExit(
            f"vettify batch: no database. Pass --dsn, set VETTIFY_DATABASE_URL, or start the engine (`vettify up`; "
            f"its {engine_file.path_in(settings.data_dir)} names its database)."
        )
    worker = args.worker_dsn or settings.worker_database_url or (running.worker_database_url if running else None)
    redis = getattr(args, "redis_url", None) or settings.redis_url or (running.redis_url if running else None)
    return Endpoints(dsn, worker, redis)


def _tenants(args: argparse.Namespace, endpoints: Endpoints, job: str) -> list[TenantContext]:
    import asyncio

    from serve.batch.jobs import all_tenants

    if args.all_tenants:
        if endpoints.worker_database_url is None:
            raise SystemExit("vettify batch: --all-tenants lists tenants as the worker role: pass --worker-dsn")
        found = asyncio.run(all_tenants(job, endpoints.worker_database_url))
        print(f"[batch {job}] {len(found)} tenants", file=sys.stderr)
        return found
    tenants: list[TenantContext] = args.tenant or []
    if not tenants:
        raise SystemExit(f"vettify batch {job}: name a tenant (--tenant TID/MID[/WHID]) or pass --all-tenants")
    return tenants


def _start_ray(args: argparse.Namespace) -> None:
    import ray

    address = args.address or os.environ.get("RAY_ADDRESS")
    if address:
        if problem := cluster_address_problem(address):
            raise SystemExit(f"vettify batch: cannot join the Ray cluster at {address}: {problem}")
        ray.init(address=address, log_to_driver=False)
        _warn_if_actors_do_not_fit(args)
        return
    ray.init(
        address="local",  # a Ray of its own, never a Serve instance running on this machine
        num_cpus=args.num_cpus or os.cpu_count() or 2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=256 * 1024 * 1024,
    )
    _warn_if_actors_do_not_fit(args)


def _warn_if_actors_do_not_fit(args: argparse.Namespace) -> None:
    """Model actors the cluster has no CPUs for wait (an autoscaler may add nodes): say so, once."""
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 0.0))  # type: ignore[no-untyped-call]
    wanted = args.actors * args.cpus_per_actor
    if wanted > cpus:
        print(
            f"[batch] {args.actors} model actors x {args.cpus_per_actor:g} CPUs need {wanted:g} CPUs; the cluster has "
            f"{cpus:g} now: the ones that do not fit wait for room (lower --cpus-per-actor or --actors)",
            file=sys.stderr,
        )


def _resources(args: argparse.Namespace) -> Any:
    from serve.batch.jobs import Resources

    return Resources(
        actors=args.actors,
        cpus_per_actor=args.cpus_per_actor,
        threads=args.threads,
        page_size=args.page_size,
        writers=args.writers,
    )


def _finish(report: Report, args: argparse.Namespace) -> int:
    bad = report.bad
    for entry in bad[:20]:
        print(f"[batch {report.job}] bad {entry['target']} {entry['id']}: {entry['reason']}", file=sys.stderr)
    if len(bad) > 20:
        print(f"[batch {report.job}] … and {len(bad) - 20} more bad rows (all in --report)", file=sys.stderr)
    summary = {
        "job": report.job,
        "rows": report.rows,
        "runs": [
            {
                "tenant": {"tid": o.tenant.tid, "mid": o.tenant.mid, "whid": o.tenant.whid},
                "target": o.target,
                "run_id": str(o.run.id),
                "resumed": o.run.resumed,
                "rows": o.totals.rows,
                "seconds": round(o.totals.seconds, 3),
                "rows_per_s": round(o.totals.rows_per_s, 2),
                "written": o.totals.written,
                "unchanged": o.totals.unchanged,
                "skipped": o.totals.skipped,
                "skipped_reasons": o.totals.skipped_reasons,
                "bad": o.totals.bad,
            }
            for o in report.outcomes
        ],
        "bad": bad,
    }
    if args.report:
        Path(args.report).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    import ray

    if ray.is_initialized():  # before the summary: what Ray says as it disconnects must not follow it
        ray.shutdown()
    print(json.dumps({k: v for k, v in summary.items() if k != "bad"} | {"bad": len(bad)}), flush=True)
    return 0


def _cmd_embed(args: argparse.Namespace) -> int:
    from serve.batch import jobs
    from serve.batch.embed import TARGETS

    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown or not args.targets:
        raise SystemExit(f"vettify batch embed: unknown --targets {unknown}; choose from {', '.join(TARGETS)}")
    endpoints = endpoints_from(args)
    tenants = _tenants(args, endpoints, "embed")
    try:
        _start_ray(args)
        report = jobs.embed(
            endpoints,
            tenants,
            targets=args.targets,
            model_path=args.model_path,
            version=args.model_version,
            resources=_resources(args),
            restart=args.restart,
        )
    except ValueError as exc:
        raise SystemExit(f"vettify batch embed: {exc}") from exc
    return _finish(report, args)


def _cmd_score_churn(args: argparse.Namespace) -> int:
    from serve.batch import jobs

    endpoints = endpoints_from(args)
    if endpoints.redis_url is None:
        raise SystemExit("vettify batch score-churn: the feature store is in Redis: pass --redis-url")
    tenants = _tenants(args, endpoints, "score-churn")
    artifacts = args.artifacts_dir or str(settings_from(args).resolved_artifacts_dir)
    _start_ray(args)
    report = jobs.score_churn(
        endpoints,
        tenants,
        artifacts_dir=artifacts,
        as_of=date.fromisoformat(args.as_of) if args.as_of else None,
        resources=_resources(args),
        restart=args.restart,
    )
    return _finish(report, args)


def _cmd_analyze_calls(args: argparse.Namespace) -> int:
    from serve.application import app_args
    from serve.batch import jobs
    from serve.batch.calls import read_manifest

    endpoints = endpoints_from(args)
    tenants = args.tenant or []
    if len(tenants) != 1:
        raise SystemExit("vettify batch analyze-calls: the recordings belong to one tenant: give --tenant once")
    settings = settings_from(args)
    options = app_args(settings)
    voice = {
        "model_path": options.whisper_model_path,
        "artifacts_dir": options.artifacts_dir,
        "profile": args.profile or options.voice_profile,
    }
    try:
        manifest = read_manifest(Path(args.manifest)) if args.manifest else None
        _start_ray(args)
        report = jobs.analyze_calls(
            endpoints,
            tenants[0],
            Path(args.folder),
            manifest=manifest,
            voice=voice,
            fps=args.fps,
            resources=_resources(args),
            restart=args.restart,
        )
    except (OSError, ValueError) as exc:
        raise SystemExit(f"vettify batch analyze-calls: {exc}") from exc
    return _finish(report, args)


def _common(parser: argparse.ArgumentParser, *, many_tenants: bool = True) -> None:
    parser.add_argument(
        "--tenant", action="append", type=parse_tenant, help="TID/MID or TID/MID/WHID; repeat for several"
    )
    if many_tenants:
        parser.add_argument("--all-tenants", action="store_true", help="every tenant with data (needs --worker-dsn)")
    parser.add_argument("--dsn", help="application-role DSN (default VETTIFY_DATABASE_URL, or the running engine's)")
    parser.add_argument("--worker-dsn", help="worker-role DSN, for --all-tenants (default VETTIFY_WORKER_DATABASE_URL)")
    parser.add_argument("--address", help="a Ray cluster to run on (default RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: this machine's)")
    parser.add_argument("--actors", type=int, default=1, help="model actors in the pool (default 1)")
    parser.add_argument("--cpus-per-actor", type=float, default=1.0, help="CPUs each model actor holds (default 1)")
    parser.add_argument("--threads", type=int, help="inference threads per actor (default: its CPUs)")
    parser.add_argument("--writers", type=int, default=2, help="writer actors (default 2)")
    parser.add_argument("--page-size", type=int, default=256, help="rows per page: the unit of resuming (256)")
    parser.add_argument("--restart", action="store_true", help="close an unfinished run instead of resuming it")
    parser.add_argument("--report", help="write the summary with every bad row's id and reason here (JSON)")
    parser.add_argument("--data-dir", help="where a running `vettify up` keeps engine.json (default VETTIFY_DATA_DIR)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = sub.add_parser(
        "batch",
        help="bulk jobs on Ray Data: re-embed, re-score churn, analyse a folder of calls",
        description="Each job reads in key-ordered pages, runs the models in an actor pool, writes idempotently "
        "(a re-run changes nothing), resumes an interrupted run where it stopped, prints progress to stderr "
        "and a JSON summary (rows/s) to stdout. Bad rows are reported with their ids and skipped.",
    )
    jobs = batch.add_subparsers(dest="job", required=True)
    embed = jobs.add_parser("embed", help="recompute vectors of mentions and journeys made by another model")
    _common(embed)
    embed.add_argument(
        "--targets",
        type=lambda v: [t.strip() for t in v.split(",") if t.strip()],
        default=["mentions", "journeys"],
        help="comma-separated: mentions, journeys (default both)",
    )
    embed.add_argument("--model-path", help="a local Hugging Face checkpoint (default: the packaged all-MiniLM-L6-v2)")
    embed.add_argument("--model-version", help="the version vectors are tagged with (default: from the model)")
    embed.set_defaults(func=_cmd_embed)
    churn = jobs.add_parser("score-churn", help="re-score every live account from the churn feature store")
    _common(churn)
    churn.add_argument("--redis-url", help="the feature store (default VETTIFY_REDIS_URL, or the running engine's)")
    churn.add_argument("--as-of", help="scoring date, YYYY-MM-DD (default today; a resumed run keeps its own)")
    churn.add_argument("--artifacts-dir", help="trained churn model folder (default <data_dir>/artifacts)")
    churn.set_defaults(func=_cmd_score_churn)
    calls = jobs.add_parser(
        "analyze-calls",
        help="transcribe and analyse a folder of call recordings (voice and video) into ai.call_analyses",
    )
    calls.add_argument("folder", help="recordings: .wav .flac .ogg .mp3 .m4a .opus .webm (voice), .mp4 .avi .mov .mkv")
    _common(calls, many_tenants=False)
    calls.add_argument(
        "--manifest",
        help="CSV: file, and any of call_id, account_id, contact_id, recorded_at, language, speakers, rep, fps",
    )
    calls.add_argument(
        "--profile", choices=["fast", "accurate"], help="Whisper profile (default VETTIFY_VOICE_PROFILE)"
    )
    calls.add_argument("--fps", type=float, default=1.0, help="video frames analysed per second (default 1)")
    calls.set_defaults(func=_cmd_analyze_calls, page_size=8)
