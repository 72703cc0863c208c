"""The one text normalisation for search and deduplication: case, diacritics and the legacy cedilla forms.

Romanian is written with ș ț ă â î, typed without them, and exported by older systems with the cedilla
forms ş ţ. :func:`fold` maps all of them to one key: Unicode case folding, the cedilla letters to their
comma-below forms, then every combining mark removed (ș → s, ă → a, é → e, ß → ss). PostgreSQL applies the
same rule to stored values (``crm.fold``, migration 0006: ``unaccent`` then ``lower``), and
``tests/integration/infra/db/test_search_fold.py`` holds the two to the same answers.
"""

from __future__ import annotations

import unicodedata

CEDILLA_TO_COMMA = str.maketrans("şţŞŢ", "șțȘȚ")
# Letters with no Unicode decomposition that PostgreSQL's unaccent still maps to plain ones.
UNDECOMPOSABLE = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ł": "l", "ħ": "h", "\u0131": "i"})


def fold(text: str) -> str:
    """``"ŞTEFĂNEŞTI Agro"`` → ``"stefanesti agro"``; whitespace runs become one space."""
    folded = text.translate(CEDILLA_TO_COMMA).casefold().translate(UNDECOMPOSABLE)
    decomposed = unicodedata.normalize("NFKD", folded)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", stripped).split())
