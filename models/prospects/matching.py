"""Who an activity's person is in the CRM: a contact or lead, with a confidence, or a conflict to resolve.

Evidence, strongest first: the LinkedIn profile URL (the contact's ``linkedin`` attribute), the e-mail, the
name together with the company. Names and companies are folded (diacritics, case), names compared as a set of
words (``Popescu Ion`` is ``Ion Popescu``, initials dropped), companies without their legal form (``SC … SRL``,
``S.A.``, ``Ltd``). A name alone never links.

One person can be two records: a lead converted into a contact is the same person, so those agree. Two
*different* people with evidence of the same strength (two contacts with the same name at the same company; a
profile URL on one contact and the e-mail on another) are a **conflict**: both are kept as candidates for a
person to choose, and nothing is linked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from infra.text import fold

LINK_AT = 0.75  # the least confidence that links an activity to a record
CONFIDENCE = {"profile_url": 1.0, "email": 0.98, "name_company": 0.85, "name_similar_company": 0.78, "name": 0.4}
HARD = 0.98  # profile URL and e-mail: identifiers, not descriptions

LEGAL_FORMS = frozenset({
    "sc", "srl", "srld", "sa", "sca", "snc", "scs", "pfa", "ii", "if", "ra",
    "ltd", "llc", "inc", "plc", "gmbh", "ag", "bv", "nv", "sas", "sarl", "spa", "co", "corp", "company", "limited",
})  # fmt: skip
_NON_WORD = re.compile(r"[^a-z0-9]+")
_PROFILE = re.compile(r"^/(in|pub)/([^/?#]+)")


@lru_cache(maxsize=65536)
def profile_key(url: str | None) -> str | None:
    """``https://ro.linkedin.com/in/Ana-Pop/?trk=x`` → ``in/ana-pop``; a bare ``ana-pop`` → ``in/ana-pop``."""
    if not url or not url.strip():
        return None
    text = url.strip()
    if "/" not in text and "." not in text:
        slug = fold(unquote(text.lstrip("@")))
        return f"in/{slug}" if slug else None
    parts = urlsplit(text if "//" in text else f"https://{text}")
    if not parts.hostname or not (parts.hostname == "linkedin.com" or parts.hostname.endswith(".linkedin.com")):
        return None
    found = _PROFILE.match(parts.path)
    return f"{found.group(1)}/{fold(unquote(found.group(2)))}" if found else None


@lru_cache(maxsize=65536)
def email_key(email: str | None) -> str | None:
    return email.strip().lower() if email and "@" in email else None


@lru_cache(maxsize=65536)
def name_key(name: str | None) -> str | None:
    """Folded words in order, initials and punctuation dropped: ``Ion-Marian  P. Popescu`` → ``ion marian popescu``."""
    if not name:
        return None
    words = [w for w in _NON_WORD.split(fold(name)) if len(w) > 1]
    return " ".join(sorted(words)) if len(words) >= 2 else None


@lru_cache(maxsize=65536)
def company_key(company: str | None) -> str | None:
    """``S.C. Ștefănești Agro S.R.L.`` → ``stefanesti agro`` (legal forms and punctuation dropped)."""
    if not company:
        return None
    folded = fold(company).replace(".", "")
    words = [w for w in _NON_WORD.split(folded) if w and w not in LEGAL_FORMS]
    return " ".join(words) or None


def similar_company(a: str, b: str) -> bool:
    """One name is the other's first words (``dedeman`` and ``dedeman romania``): a group and its branch, or a
    short and a long form. Words in common in another order (``nova print``, ``print nova``) are not enough."""
    wa, wb = a.split(), b.split()
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return bool(short) and long[: len(short)] == short


@dataclass(frozen=True)
class Person:
    """What an activity says about the person who acted."""

    profile_url: str | None = None
    email: str | None = None
    name: str | None = None
    company: str | None = None

    def key(self) -> str | None:
        """How the same person is recognised across activities: profile, else e-mail, else name at company."""
        if (profile := profile_key(self.profile_url)) is not None:
            return f"profile:{profile}"
        if (email := email_key(self.email)) is not None:
            return f"email:{email}"
        name, company = name_key(self.name), company_key(self.company)
        return f"name:{name}@{company}" if name and company else None


@dataclass(frozen=True)
class Candidate:
    """A CRM record that might be the person."""

    kind: Literal["contact", "lead"]
    id: str
    profile_url: str | None = None
    email: str | None = None
    name: str | None = None
    company: str | None = None
    account_id: str | None = None
    contact_id: str | None = None  # a lead converted into a contact: that contact (the same person)

    @property
    def person(self) -> str:
        """Records of the same person share this: a contact's own id, a converted lead's contact."""
        return self.id if self.kind == "contact" else (self.contact_id or f"lead:{self.id}")


@dataclass(frozen=True)
class Evidence:
    candidate: Candidate
    basis: str
    confidence: float

    def as_json(self) -> dict[str, Any]:
        c = self.candidate
        return {"kind": c.kind, "id": c.id, "name": c.name, "company": c.company, "basis": self.basis,
                "confidence": self.confidence}  # fmt: skip


@dataclass(frozen=True)
class Match:
    status: Literal["matched", "unmatched", "conflict"]
    confidence: float = 0.0
    basis: str | None = None
    contact_id: str | None = None
    lead_id: str | None = None
    account_id: str | None = None
    candidates: list[Evidence] = field(default_factory=list)  # a conflict's (or a weak match's) records

    def as_json(self) -> list[dict[str, Any]]:
        return [e.as_json() for e in self.candidates]


def evidence(person: Person, candidate: Candidate) -> Evidence | None:
    """The strongest thing ``person`` and ``candidate`` share, or None."""
    profile = profile_key(person.profile_url)
    if profile is not None and profile == profile_key(candidate.profile_url):
        return Evidence(candidate, "profile_url", CONFIDENCE["profile_url"])
    email = email_key(person.email)
    if email is not None and email == email_key(candidate.email):
        return Evidence(candidate, "email", CONFIDENCE["email"])
    return _by_name(person, candidate)


def _by_name(person: Person, candidate: Candidate) -> Evidence | None:
    name = name_key(person.name)
    if name is None or name != name_key(candidate.name):
        return None
    ours, theirs = company_key(person.company), company_key(candidate.company)
    if ours is not None and theirs is not None:
        if ours == theirs:
            return Evidence(candidate, "name_company", CONFIDENCE["name_company"])
        if similar_company(ours, theirs):
            return Evidence(candidate, "name_similar_company", CONFIDENCE["name_similar_company"])
        return None  # the same name at another company: another person
    return Evidence(candidate, "name", CONFIDENCE["name"])


def match(person: Person, candidates: Sequence[Candidate]) -> Match:
    """Link ``person`` to one person's records, or say why not (unmatched, or a conflict between people)."""
    found = [e for c in candidates if (e := evidence(person, c)) is not None]
    strong = [e for e in found if e.confidence >= LINK_AT]
    if not strong:
        return Match("unmatched", candidates=sorted(found, key=lambda e: -e.confidence)[:5])
    best = max(e.confidence for e in strong)
    tier = [e for e in strong if (e.confidence >= HARD) == (best >= HARD)]  # identifiers outrank descriptions
    people = {e.candidate.person for e in tier}
    if len(people) > 1:
        return Match("conflict", best, candidates=sorted(tier, key=lambda e: (-e.confidence, e.candidate.kind)))
    records = [e for e in found if e.candidate.person in people]
    contact = next((e.candidate for e in records if e.candidate.kind == "contact"), None)
    lead = next((e.candidate for e in records if e.candidate.kind == "lead"), None)
    top = max(tier, key=lambda e: e.confidence)
    account = (contact.account_id if contact else None) or (lead.account_id if lead else None)
    return Match(
        "matched",
        top.confidence,
        top.basis,
        contact_id=contact.id if contact else (lead.contact_id if lead else None),
        lead_id=lead.id if lead else None,
        account_id=account,
    )
