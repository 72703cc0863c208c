"""Score a file of texts with the same analyzer the endpoints use: ``vettify text score``.

Reads CSV (a header row; ``column`` names the text, ``id_column`` an optional id to carry), JSON Lines (one
object a line, same names) or plain text (one text a line), and yields one result a row, in order. A row
whose text is missing or blank yields ``{"row": n, "error": …}`` instead of stopping the job; nothing is
dropped silently. Texts are scored ``batch`` at a time (long ones in chunks, other languages flagged, aspects
when asked), the same :class:`~models.sentiment.analyzer.SentimentAnalyzer` as ``/v1/sentiment``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from models.embeddings.encoder import MAX_TEXT_CHARS
from models.errors import InvalidInput


def read_rows(handle: TextIO, kind: str, column: str, id_column: str | None) -> Iterator[tuple[Any, Any]]:
    """``(id, text)`` per input row; ``text`` is whatever the row holds (checked by :func:`score_rows`)."""
    if kind == "txt":
        for line in handle:
            yield None, line.rstrip("\n")
        return
    if kind == "csv":
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise InvalidInput(f"the CSV has no column {column!r} (columns: {reader.fieldnames})")
        for record in reader:
            yield (record.get(id_column) if id_column else None), record.get(column)
        return
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number} is not JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise InvalidInput(f"line {number} is not a JSON object")
        yield (record.get(id_column) if id_column else None), record.get(column)


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "txt"


def _problem(text: Any) -> str | None:
    if not isinstance(text, str):
        return "no text in this row"
    if not text.strip():
        return "the text is empty"
    if len(text) > MAX_TEXT_CHARS:
        return f"the text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}"
    return None


def score_rows(
    analyzer: Any, rows: Iterable[tuple[Any, Any]], *, aspects: bool = False, batch: int = 64
) -> Iterator[dict[str, Any]]:
    """One result per row, in input order."""
    pending: list[tuple[int, Any, str]] = []

    def flush() -> Iterator[dict[str, Any]]:
        if not pending:
            return
        texts = [text for _, _, text in pending]
        scored = analyzer.analyze(texts)
        found = analyzer.aspects(texts) if aspects else [None] * len(texts)
        for (row, ident, _), sentiment, mentions in zip(pending, scored, found, strict=True):
            out: dict[str, Any] = {"row": row, **({"id": ident} if ident is not None else {}), **asdict(sentiment)}
            if mentions is not None:
                out["aspects"] = [asdict(m) for m in mentions]
            yield out
        pending.clear()

    for row, (ident, text) in enumerate(rows, 1):
        problem = _problem(text)
        if problem is not None:
            yield from flush()
            yield {"row": row, **({"id": ident} if ident is not None else {}), "error": problem}
            continue
        pending.append((row, ident, text))
        if len(pending) >= batch:
            yield from flush()
    yield from flush()
