"""Unit tests of ``serve.cli``."""

from __future__ import annotations

import pytest

from serve.cli import build_parser, main


def test_cli_parses_up_options() -> None:
    args = build_parser().parse_args(["up", "--port", "8123", "--data-dir", "data"])
    assert (args.command, args.port, args.data_dir) == ("up", 8123, "data")


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("vettify ")


def test_cli_db_without_a_database_explains_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VETTIFY_DATABASE_URL", raising=False)
    monkeypatch.delenv("VETTIFY_ADMIN_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="Pass --dsn"):
        main(["db", "current"])
