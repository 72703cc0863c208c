"""Channel spend CSV parsing: good files, bad lines named, unreadable files refused (never a 500)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm_core.api.routes.spend import parse_csv
from infra.errors import InvalidInput


def test_a_good_file_with_a_bom_windows_line_ends_and_an_empty_currency() -> None:
    rows = parse_csv(
        "\ufeffchannel,period_start,period_end,amount,currency\r\ngoogle_ads,2026-11-01,2026-11-07,650.5,\r\n"
    )
    assert [(r.channel, r.period_start, r.amount, r.currency) for r in rows] == [
        ("google_ads", date(2026, 11, 1), Decimal("650.5"), "RON")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channel,period_start,period_end,amount\nemail," + "9" * 200_000 + ",2026-11-07,5\n", "cannot be read"),
        ("channel,period_start,period_end,amount\nemail,2026-11-01\rx,2026-11-07,5\x00\n", "line 2"),
        ("a,b\n1,2\n", "header"),
        ("channel,period_start,period_end,amount\n", "no rows"),
        ("channel,period_start,period_end,amount\nemail,2026-11-01,2026-11-07,NaN\n", "line 2"),
    ],
)
def test_bad_files_are_invalid_input(text: str, message: str) -> None:
    """A bare carriage return once answered 500 (found by schemathesis); every bad file is a 422 now."""
    with pytest.raises(InvalidInput, match=message):
        parse_csv(text)
