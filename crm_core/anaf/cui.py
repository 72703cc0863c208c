"""Romanian company identifiers (CUI/CIF): local check-digit validation.

The last digit is a control digit over the others, right-aligned against the
key 753217532: ``(sum(d_i * k_i) * 10) mod 11``, with 10 mapping to 0. A CUI
that fails this is rejected before any call to ANAF. The length and check-digit
rules are python-stdnum's (``stdnum.ro.cui``, maintained with the other national
identifiers); this module adds the shape the engine accepts (digits, optional
``RO`` prefix, no separators) and leading zeros dropped.
"""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.ro import cui as stdnum_cui

_SHAPE = re.compile(r"^(?:RO)?\s*([0-9]{2,10})$", re.IGNORECASE)


class InvalidCui(ValueError):
    """Not a well-formed Romanian CUI."""


def normalize_cui(raw: str) -> str:
    """``"RO 18547290"`` → ``"18547290"``; raises :class:`InvalidCui` on bad shape or check digit."""
    match = _SHAPE.match(raw.strip())
    if match is None:
        raise InvalidCui(f"{raw!r} is not a CUI: 2 to 10 digits, optionally prefixed by RO")
    cui = match.group(1).lstrip("0") or "0"
    try:
        return str(stdnum_cui.validate(cui))
    except InvalidChecksum as exc:
        raise InvalidCui(f"{raw!r} fails the CUI check digit: verify it against the registration certificate") from exc
    except ValidationError as exc:
        raise InvalidCui(f"{raw!r} is too short to be a CUI") from exc


def control_digit(body: str) -> int:
    """Control digit for the digits of a CUI without its last digit."""
    return int(stdnum_cui.calc_check_digit(body))


def is_valid_cui(raw: str) -> bool:
    try:
        normalize_cui(raw)
    except InvalidCui:
        return False
    return True
