"""Personal data in free text — e-mail addresses, phone numbers, IBANs, Romanian personal numeric codes (CNP) —
found and replaced by typed placeholders before the text is stored or embedded.

Each kind is found by a pattern and then *validated*, so that the numbers a sales call or a mention is full
of (order numbers, amounts, dates, invoice and tax ids) are left alone:

* **CNP**: 13 digits ``S YY MM DD JJ NNN C`` — sex/century digit 1-9, a real calendar date for that
  century, a county code 01-52 (or 70 for foreign residents), a non-zero serial and the check digit
  (weights ``279146358279``, sum mod 11, 10 → 1).
* **IBAN**: a country code with that country's length and the ISO 7064 mod-97 check (== 1), written
  compact or in groups of four.
* **Phone**: Romanian numbers (``07xx xxx xxx`` mobiles, ``02x``/``03x`` fixed lines, with ``+40``/``0040``
  or without) and international ``+`` numbers of 8-15 digits; separators (space, dot, dash, brackets) as
  people write them; a digit run that is a valid CNP or part of an IBAN is not a phone.
* **E-mail**: ``local@domain.tld`` with a letter TLD.

No model and no network: patterns plus checks, deterministic, microseconds per sentence. The placeholders
(``[EMAIL]``, ``[PHONE]``, ``[IBAN]``, ``[CNP]``) keep the sentence readable for the sentiment and embedding
models downstream. Measured on a generated labelled set with near-misses: ``python -m models.privacy.evaluate``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal["EMAIL", "PHONE", "IBAN", "CNP"]
KINDS: tuple[Kind, ...] = ("EMAIL", "PHONE", "IBAN", "CNP")


@dataclass(frozen=True)
class Span:
    kind: Kind
    start: int
    end: int


# --- CNP -------------------------------------------------------------------------------------------------

CNP_WEIGHTS = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)
CNP_COUNTIES = {*range(1, 53), 70}  # 01-46 counties and Bucharest sectors 41-46, 47-48 (historic), 51-52, 70
_CENTURY = {1: 1900, 2: 1900, 3: 1800, 4: 1800, 5: 2000, 6: 2000, 7: 1900, 8: 1900, 9: 1900}


def cnp_check_digit(first12: str) -> int:
    total = sum(int(d) * w for d, w in zip(first12, CNP_WEIGHTS, strict=True)) % 11
    return 1 if total == 10 else total


def valid_cnp(digits: str) -> bool:
    """A Romanian personal numeric code: century digit, real birth date, county, serial, check digit."""
    if len(digits) != 13 or not digits.isdigit() or digits[0] == "0":
        return False
    year = _CENTURY[int(digits[0])] + int(digits[1:3])
    try:
        date(year, int(digits[3:5]), int(digits[5:7]))
    except ValueError:
        return False
    if int(digits[7:9]) not in CNP_COUNTIES or digits[9:12] == "000":
        return False
    return cnp_check_digit(digits[:12]) == int(digits[12])


# --- IBAN ------------------------------------------------------------------------------------------------

# Lengths of the countries a Romanian company meets most (EU/EEA, UK, CH, MD, and a few more); others are
# accepted at 15-34 characters when their check digits hold.
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IT": 27, "LT": 20, "LU": 20,
    "LV": 21, "MD": 24, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19,
    "SK": 24, "TR": 26, "UA": 29,
}  # fmt: skip


def valid_iban(compact: str) -> bool:
    """ISO 13616: country, check digits, BBAN; mod 97 of the rearranged number is 1."""
    s = compact.upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    expected = IBAN_LENGTHS.get(s[:2])
    if expected is not None and len(s) != expected:
        return False
    rearranged = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


# --- Patterns --------------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
# An IBAN compact or in groups of four separated by single spaces.
IBAN_RE = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,4})?\b")
CNP_RE = re.compile(r"(?<![\d.,/-])\d{13}(?![\d])")
# Phone candidates: an optional international prefix, then digits with the separators people use.
PHONE_RE = re.compile(
    r"(?<![\w+.,/-])"
    r"(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{1,4}\)?){2,6}"
    r"(?![\w.,/-]*\d)"
)
_SEPARATORS = re.compile(r"[ .\-()]")


def _romanian_phone(digits: str) -> bool:
    """A Romanian number after its prefix was removed: 10 digits starting 07 (mobile) or 02/03 (fixed)."""
    return len(digits) == 10 and digits[:2] in ("07", "02", "03") and digits[2] != "0"


def valid_phone(raw: str) -> bool:
    """A Romanian number (with or without +40/0040) or an international ``+``/``00`` number of 8-15 digits."""
    digits = _SEPARATORS.sub("", raw)
    international = digits.startswith("+") or digits.startswith("00")
    digits = digits.lstrip("+")
    if not digits.isdigit():
        return False
    if digits.startswith("0040"):
        return _romanian_phone("0" + digits[4:])
    if raw.lstrip().startswith("+") and digits.startswith("40"):
        return _romanian_phone("0" + digits[2:])
    if international:
        body = digits[2:] if digits.startswith("00") else digits
        return 8 <= len(body) <= 15 and body[0] != "0"
    # Written without a prefix: people group it (0722 123 456, 0722.123.456, 021-555-1234) or write it
    # compact; a compact 10-digit run must not be part of a longer number (the lookarounds ensure that).
    return _romanian_phone(digits)


# --- Detection and redaction -----------------------------------------------------------------------------


def _iban_end(candidate: str) -> int | None:
    """Where the IBAN at the start of ``candidate`` ends: the pattern may have taken the next word too
    (``RO49…0000 on``), so drop space-separated chunks from the end until the rest validates."""
    while len(candidate) > 4:
        if valid_iban(candidate.replace(" ", "")):
            return len(candidate)
        cut = candidate.rfind(" ")
        if cut <= 4:
            return None
        candidate = candidate[:cut]
    return None


def find(text: str) -> list[Span]:
    """Every personal identifier in ``text``, non-overlapping, in order; the earlier kind in ``KINDS``
    order wins an overlap (an e-mail's digits are not a phone; an IBAN's digits are not a CNP)."""
    spans: list[Span] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def add(kind: Kind, start: int, end: int) -> None:
        if free(start, end):
            spans.append(Span(kind, start, end))
            taken.append((start, end))

    for m in EMAIL_RE.finditer(text):
        add("EMAIL", m.start(), m.end())
    for m in IBAN_RE.finditer(text):
        end = _iban_end(m.group())
        if end is not None:
            add("IBAN", m.start(), m.start() + end)
    for m in CNP_RE.finditer(text):
        if valid_cnp(m.group()):
            add("CNP", m.start(), m.end())
    for m in PHONE_RE.finditer(text):
        raw = m.group()
        start, end = m.start(), m.end()
        # The pattern may have swallowed a closing bracket or separator; keep the number itself.
        while end > start and not text[end - 1].isdigit():
            end -= 1
        if valid_phone(text[start:end]) and not valid_cnp(_SEPARATORS.sub("", raw)):
            add("PHONE", start, end)
    return sorted(spans, key=lambda s: s.start)


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: dict[str, int]  # placeholders put in, per kind

    @property
    def changed(self) -> bool:
        return bool(self.counts)


def redact(text: str, kinds: tuple[Kind, ...] = KINDS) -> Redacted:
    """``text`` with every identifier of ``kinds`` replaced by ``[KIND]``."""
    out: list[str] = []
    counts: Counter[str] = Counter()
    last = 0
    for span in find(text):
        if span.kind not in kinds:
            continue
        out.append(text[last : span.start])
        out.append(f"[{span.kind}]")
        counts[span.kind] += 1
        last = span.end
    out.append(text[last:])
    return Redacted("".join(out), dict(counts))
