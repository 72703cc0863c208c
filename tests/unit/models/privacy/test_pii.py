"""The PII detector: what it finds, what it must leave alone, and the redacted text."""

from __future__ import annotations

import random

import pytest

from models.privacy.evaluate import make_cnp, make_examples, make_iban, score
from models.privacy.pii import find, redact, valid_cnp, valid_iban, valid_phone


@pytest.mark.parametrize("cnp", ["1960529460012", "1800101221144", "5021231401230"])
def test_valid_cnps(cnp: str) -> None:
    assert valid_cnp(cnp)


@pytest.mark.parametrize(
    ("cnp", "why"),
    [
        ("1960529460013", "check digit"),
        ("1961329460016", "month 13"),
        ("1960230460011", "30 February"),
        ("1960529990017", "county 99"),
        ("0960529460012", "no century digit 0"),
        ("1960529460000", "serial 000"),
        ("196052946001", "12 digits"),
    ],
)
def test_invalid_cnps(cnp: str, why: str) -> None:
    assert not valid_cnp(cnp), why


def test_ibans_need_their_country_length_and_mod_97() -> None:
    assert valid_iban("RO49AAAA1B31007593840000")
    assert valid_iban("DE89370400440532013000")
    assert not valid_iban("RO49AAAA1B31007593840001")  # one digit off
    assert not valid_iban("RO49AAAA1B3100759384000")  # Romania has 24 characters


@pytest.mark.parametrize(
    "phone", ["0722 123 456", "0722.123.456", "0722-123-456", "0722123456", "+40 722 123 456", "0040722123456",
              "021 555 1234", "+49 30 1234 5678"]
)  # fmt: skip
def test_phones_as_people_write_them(phone: str) -> None:
    assert valid_phone(phone)
    assert [s.kind for s in find(f"sunati la {phone} va rog")] == ["PHONE"]


@pytest.mark.parametrize(
    "number",
    ["4006381333931", "01.12.2026", "2026-12-01", "1.250.000 lei", "RO12345678", "FV-2026-00123", "1234567890",
     "0107231234", "12 500 EUR"],
)  # fmt: skip
def test_numbers_that_are_not_personal_data_are_left_alone(number: str) -> None:
    text = f"comanda {number} a fost livrata"
    assert find(text) == []
    assert redact(text).text == text


def test_redaction_puts_typed_placeholders_and_counts_them() -> None:
    text = (
        "Sunati-ma la 0722 123 456, scrieti la ana.pop@exemplu.ro, plata in RO49 AAAA 1B31 0075 9384 0000, "
        "CNP 1960529460012."
    )
    out = redact(text)
    assert out.text == "Sunati-ma la [PHONE], scrieti la [EMAIL], plata in [IBAN], CNP [CNP]."
    assert out.counts == {"PHONE": 1, "EMAIL": 1, "IBAN": 1, "CNP": 1}
    assert out.changed
    assert redact(text, kinds=("EMAIL",)).text.count("[") == 1


def test_an_email_with_digits_is_one_email_not_a_phone() -> None:
    assert [s.kind for s in find("ana0722123456@exemplu.ro")] == ["EMAIL"]


def test_generated_identifiers_are_valid_and_near_misses_are_not() -> None:
    rng = random.Random(1)
    for _ in range(200):
        assert valid_cnp(make_cnp(rng))
        assert not valid_cnp(make_cnp(rng, valid=False))
        assert valid_iban(make_iban(rng).replace(" ", ""))
        assert not valid_iban(make_iban(rng, valid=False).replace(" ", ""))


def test_the_detector_beats_its_goals_on_a_small_generated_set() -> None:
    result = score(make_examples(600, seed=3), find)
    assert all(v["precision"] >= 0.95 and v["recall"] >= 0.95 for v in result.values()), result
