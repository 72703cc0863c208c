"""Unit tests of ``serve.cli``."""

from __future__ import annotations

import pytest

from infra.net import free_port
from serve.cli import build_parser, main


def test_cli_parses_up_options() -> None:
    args = build_parser().parse_args(["up", "--port", "8123", "--data-dir", "data"])
    assert (args.command, args.port, args.data_dir, args.address) == ("up", 8123, "data", None)
    joined = build_parser().parse_args(["up", "--address", "10.0.0.5:6379"])
    assert joined.address == "10.0.0.5:6379"


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("vettify ")


def test_cli_db_without_a_database_explains_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VETTIFY_DATABASE_URL", raising=False)
    monkeypatch.delenv("VETTIFY_ADMIN_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="Pass --dsn"):
        main(["db", "current"])


@pytest.mark.parametrize("ttl", ["-5", "0"])
def test_a_token_that_would_already_be_expired_is_refused(ttl: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="positive number of seconds"):
        main(["token", "--ttl", ttl])
    assert capsys.readouterr().out == ""  # no token printed


def test_a_token_is_printed_for_a_positive_lifetime(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--ttl", "60"]) == 0
    assert capsys.readouterr().out.count(".") == 2  # header.claims.signature


@pytest.mark.parametrize("limit", ["0", "501", "ten"])
def test_dead_letters_refuses_a_page_size_out_of_range_before_connecting(
    limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["events", "dead-letters", "--tid", "t1", "--mid", "m1", "--limit", limit])
    assert exited.value.code == 2 and "--limit" in capsys.readouterr().err


def test_up_refuses_a_cluster_address_nobody_answers_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    port = free_port()  # free, so nothing listens on it
    with pytest.raises(SystemExit, match=rf"cannot join the Ray cluster at 127.0.0.1:{port}: nothing answers"):
        main(["up", "--address", f"127.0.0.1:{port}"])


def test_batch_refuses_a_malformed_cluster_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "head-without-port")
    with pytest.raises(SystemExit, match="is not host:port"):
        main(["batch", "embed", "--tenant", "t1/m1", "--dsn", "postgresql://nobody@127.0.0.1:1/none"])
