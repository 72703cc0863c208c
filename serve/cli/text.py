"""``vettify text score``: the sentiment batch job over a CSV, JSON Lines or plain-text file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path


def _cmd_text_score(args: argparse.Namespace) -> int:
    from models.errors import InvalidInput
    from models.sentiment.batch import kind_of, read_rows, score_rows
    from models.sentiment.classifier import load_analyzer

    source = Path(args.input)
    if not source.is_file():
        raise SystemExit(f"vettify text score: no such file: {source}")
    print(
        f"[text] loading the sentiment model{' and the aspect classifier' if args.aspects else ''} …", file=sys.stderr
    )
    analyzer = load_analyzer(Path(args.model) if args.model else None, threads=args.threads)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115 - closed below
    labels: Counter[str] = Counter()
    errors = unsupported = done = 0
    started = time.monotonic()
    try:
        with source.open(encoding="utf-8", newline="") as handle:
            rows = read_rows(handle, args.format or kind_of(source), args.column, args.id_column)
            for result in score_rows(analyzer, rows, aspects=args.aspects, batch=args.batch):
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
                done += 1
                if "error" in result:
                    errors += 1
                else:
                    labels[result["label"]] += 1
                    unsupported += not result["supported"]
                if done % 500 == 0:
                    rate = done / (time.monotonic() - started)
                    print(f"[text] {done:,} rows ({rate:.0f}/s)", file=sys.stderr, flush=True)
    except InvalidInput as exc:
        raise SystemExit(f"vettify text score: {exc}") from exc
    finally:
        if out is not sys.stdout:
            out.close()
    print(
        f"[text] done: {done:,} rows in {time.monotonic() - started:.1f}s; {dict(labels)}; "
        f"{unsupported:,} in another language (neutral, supported=false); {errors:,} rows with errors",
        file=sys.stderr,
    )
    return 0 if errors == 0 else 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = sub.add_parser("text", help="text analysis batch jobs")
    text_sub = text.add_subparsers(dest="action", required=True)
    score = text_sub.add_parser(
        "score",
        help="sentiment (+ language, chunks, aspects) for every row of a file, as JSON Lines",
        description="Rows with a missing or blank text are reported as errors (exit code 2); the others are scored.",
    )
    score.add_argument("input", help="a .csv/.tsv (with a header), .jsonl or plain-text file (one text a line)")
    score.add_argument("--format", choices=["csv", "jsonl", "txt"], help="default: from the file's extension")
    score.add_argument("--column", default="text", help="the CSV column / JSON field holding the text")
    score.add_argument("--id-column", help="a CSV column / JSON field to carry into each result as 'id'")
    score.add_argument("--out", help="write JSON Lines here (default: standard output)")
    score.add_argument("--aspects", action="store_true", help="also name each sentence's aspect (slower)")
    score.add_argument("--batch", type=int, default=64, help="texts per model call")
    score.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads")
    score.add_argument("--model", help="a sentiment artifact or local HF checkpoint (default: the packaged one)")
    score.set_defaults(func=_cmd_text_score)
