"""The sentiment batch job's reading and row handling, with the packaged analyzer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from models.errors import InvalidInput
from models.sentiment.batch import kind_of, read_rows, score_rows
from models.sentiment.classifier import load_analyzer
from serve.cli import main


def test_rows_are_read_from_csv_jsonl_and_plain_text() -> None:
    csv_rows = read_rows(io.StringIO("id,body\n7,Great product\n8,\n"), "csv", "body", "id")
    assert list(csv_rows) == [("7", "Great product"), ("8", "")]
    json_rows = read_rows(io.StringIO('{"text": "ok", "n": 1}\n\n{"n": 2}\n'), "jsonl", "text", "n")
    assert list(json_rows) == [(1, "ok"), (2, None)]
    assert list(read_rows(io.StringIO("one\ntwo\n"), "txt", "text", None)) == [(None, "one"), (None, "two")]
    assert [kind_of(Path(p)) for p in ("a.CSV", "b.jsonl", "c.txt")] == ["csv", "jsonl", "txt"]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("a,b\n1,2\n", "csv", "no column 'text'"),
        ("not json\n", "jsonl", "line 1 is not JSON"),
        ("[1]\n", "jsonl", "object"),
    ],
)
def test_unreadable_input_is_refused_with_where(text: str, kind: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        list(read_rows(io.StringIO(text), kind, "text", None))


def test_every_row_gets_a_result_in_order_and_bad_rows_say_why() -> None:
    analyzer = load_analyzer(dtype="float32")
    rows = [
        ("a", "Customer support never answered my emails, terrible."),
        ("b", "  "),
        ("c", None),
        ("d", "Mulțumesc, totul a mers perfect azi!"),
    ]
    results = list(score_rows(analyzer, rows, aspects=True, batch=2))
    assert [r["row"] for r in results] == [1, 2, 3, 4]
    assert [r["id"] for r in results] == ["a", "b", "c", "d"]
    assert results[0]["label"] == "negative" and results[0]["aspects"][0]["aspect"] == "support"
    assert results[1]["error"] == "the text is empty" and results[2]["error"] == "no text in this row"
    assert (results[3]["language"], results[3]["supported"]) == ("ro", False)


def test_the_cli_writes_json_lines_and_exits_2_when_a_row_had_no_text(tmp_path: Path) -> None:
    source = tmp_path / "mentions.csv"
    source.write_text("id,text\n1,The delivery was late again.\n2,\n3,Love it!\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    assert main(["text", "score", str(source), "--id-column", "id", "--out", str(out)]) == 2
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["1", "2", "3"]
    assert "error" in lines[1] and lines[2]["label"] == "positive"
    with pytest.raises(SystemExit, match="no such file"):
        main(["text", "score", str(tmp_path / "missing.csv")])
