"""Which watched brands a mention names: each brand's name and aliases, matched as whole words.

Matching is on folded text (case and diacritics: ``crm.fold`` in PostgreSQL, :func:`infra.text.fold` here),
so "Dedeman", "DEDEMAN" and "dedeman's" match the name "Dedeman", and "Pepsi" does not match inside
"pepsico" unless "PepsiCo" is an alias. A handle or hashtag counts as the word it spells ("@emag" and
"#emag" match "eMAG"). The match itself runs in the database (:func:`sql_pattern` with ``~``), one rule for
mentions as they arrive and for stored mentions re-matched when the watch list changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.text import fold

MAX_ALIASES = 20
MAX_ALIAS_CHARS = 100


@dataclass(frozen=True)
class WatchedBrand:
    name: str
    aliases: tuple[str, ...] = ()
    own: bool = False  # the tenant's brand (false: a competitor)

    def terms(self) -> list[str]:
        """The folded name and aliases, longest first, without repeats."""
        folded = {fold(t) for t in (self.name, *self.aliases) if fold(t)}
        return sorted(folded, key=lambda t: (-len(t), t))


def sql_pattern(brand: WatchedBrand) -> str:
    """A PostgreSQL regular expression matching any of the brand's terms with no letter or digit on either
    side, for ``crm.fold(text) ~ pattern``."""
    alternatives = "|".join(_sql_escape(t) for t in brand.terms())
    return rf"(^|[^[:alnum:]])({alternatives})($|[^[:alnum:]])"


def _sql_escape(term: str) -> str:
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", term)
