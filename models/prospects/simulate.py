"""Simulated tenants for the evaluation: LinkedIn activity with known drivers, and CRM people to match.

No public data set pairs LinkedIn activity with sales outcomes, so the evidence is a simulation whose truth is
known, chosen to be unkind to the prior: the true weights (:data:`TRUE_WEIGHTS`) differ from the prior ones (a
company follow matters far more, an event sign-up and a job change less), people differ in how much they do each
kind of thing at all (a habit per kind), and an unobserved interest moves both activity and conversion.

People for matching get Romanian names and companies, written the way different systems write them:
diacritics dropped or kept (with the old cedilla letters too), surname first, a middle initial, ``SC … SRL``
or ``S.R.L.`` or nothing, profile URLs with locale hosts, tracking parameters and trailing slashes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from models.prospects.intent import Signal
from models.prospects.matching import Candidate, Person
from models.prospects.signals import KINDS, SignalKind

START = datetime(2026, 1, 1, tzinfo=UTC)
TRUE_WEIGHTS: dict[SignalKind, float] = {
    "profile_view": 0.15,
    "post_reaction": 0.05,
    "post_comment": 0.5,
    "company_follow": 1.3,
    "job_change": 0.2,
    "message_reply": 2.2,
    "event_signup": 0.6,
}
TRUE_BIAS = -2.2
INTEREST_EFFECT = 0.5  # log-odds per SD of the interest nobody observes
BASE_RATE: dict[SignalKind, float] = {  # activities per 30 days at average interest
    "profile_view": 1.2,
    "post_reaction": 1.0,
    "post_comment": 0.3,
    "company_follow": 0.15,
    "job_change": 0.04,
    "message_reply": 0.25,
    "event_signup": 0.12,
}


@dataclass(frozen=True)
class SimulatedProspect:
    signals: list[Signal]
    outcome_at: datetime
    converted: bool


def decayed(signals: list[Signal], at: datetime, half_life_days: float) -> dict[SignalKind, float]:
    x: dict[SignalKind, float] = dict.fromkeys(KINDS, 0.0)
    for s in signals:
        age = (at - s.at).total_seconds() / 86400
        x[s.kind] += math.exp(-math.log(2) * age / half_life_days)
    return x


def prospects(n: int, *, seed: int, half_life_days: float = 14.0) -> list[SimulatedProspect]:
    """``n`` prospects, each with 30-120 days of activity before its outcome."""
    rng = np.random.default_rng(seed)
    out = []
    users = [f"rep-{i}" for i in range(5)]
    for _ in range(n):
        interest = float(rng.normal())
        days = float(rng.uniform(30, 120))
        outcome_at = START + timedelta(days=days)
        signals = []
        for kind in KINDS:
            habit = float(rng.gamma(1.0))  # how much this person does this kind of thing at all, mean 1
            rate = BASE_RATE[kind] * habit * math.exp(0.4 * interest) * days / 30
            for _ in range(int(rng.poisson(rate))):
                at = START + timedelta(days=float(rng.uniform(0, days)))
                signals.append(Signal(kind, at, str(rng.choice(users))))
        x = decayed(signals, outcome_at, half_life_days)
        logit = TRUE_BIAS + sum(TRUE_WEIGHTS[k] * x[k] for k in KINDS) + INTEREST_EFFECT * interest
        out.append(SimulatedProspect(signals, outcome_at, bool(rng.random() < 1 / (1 + math.exp(-logit)))))
    return out


FIRST = ("Andrei", "Ștefan", "Mihai", "Ioana", "Elena", "Alexandru", "Maria", "Cristina", "Gheorghe", "Răzvan",
         "Alina", "Bogdan", "Ionuț", "Mădălina", "Florin", "Irina", "Tudor", "Oana", "Cătălin", "Raluca",
         "Vlad", "Andreea", "Sorin", "Diana", "Lucian", "Bianca", "Adrian", "Simona", "Dănuț", "Corina")  # fmt: skip
LAST = ("Popescu", "Ionescu", "Rădulescu", "Dumitrescu", "Stoica", "Gheorghiu", "Munteanu", "Țurcanu",
        "Constantinescu", "Matei", "Șerban", "Dobre", "Barbu", "Nistor", "Florea", "Stănescu", "Moldovan",
        "Lungu", "Preda", "Neagu", "Toma", "Ilie", "Căpraru", "Marinescu", "Vasilescu", "Enache", "Roman",
        "Pîrvu", "Bălan", "Sârbu")  # fmt: skip
WORDS = ("Agro", "Construct", "Logistic", "Soft", "Pan", "Med", "Trans", "Energ", "Tex", "Vin", "Lact",
         "Farm", "Metal", "Print", "Nova", "Carpați", "Dunărea", "Ștefănești", "Bucovina", "Olt", "Mureș",
         "Prod", "Serv", "Impex", "Com", "Tehno", "Bio", "Eco", "Auto", "Lemn", "Grup", "Design", "Vest",
         "Nord", "Est", "Sud", "Star", "Alfa", "Delta", "Global")  # fmt: skip
FORMS = ("SRL", "S.R.L.", "SA", "S.A.")
OLD_CEDILLA = str.maketrans("șțȘȚ", "şţŞŢ")  # the letters many older systems still write


@dataclass(frozen=True)
class CrmPerson:
    id: str
    first: str
    last: str
    company: str
    slug: str
    email: str


def people(n: int, *, seed: int, twins: int) -> list[CrmPerson]:
    """``n`` CRM people; the last ``twins`` share the full name and company of an earlier one (other people)."""
    rng = np.random.default_rng(seed)
    out: list[CrmPerson] = []
    for i in range(n):
        if i >= n - twins:
            twin = out[int(rng.integers(0, n - twins))]
            first, last, company = twin.first, twin.last, twin.company
        else:
            first, last = str(rng.choice(FIRST)), str(rng.choice(LAST))
            company = " ".join(str(w) for w in rng.choice(WORDS, size=2, replace=False))
        slug = f"{_ascii(first)}-{_ascii(last)}-{i:05x}".lower()
        email = f"{_ascii(first)}.{_ascii(last)}{i}@{_ascii(company).replace(' ', '')}.ro".lower()
        out.append(CrmPerson(f"p{i}", first, last, company, slug, email))
    return out


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("ăâîșțĂÂÎȘȚ", "aaistAAIST"))


def crm_records(persons: list[CrmPerson], *, seed: int) -> list[Candidate]:
    """The CRM's view: every person is a contact; 40 % have their profile URL on record, 80 % their e-mail."""
    rng = np.random.default_rng(seed)
    return [
        Candidate(
            "contact",
            p.id,
            profile_url=f"https://www.linkedin.com/in/{p.slug}" if rng.random() < 0.4 else None,
            email=p.email if rng.random() < 0.8 else None,
            name=f"{p.first} {p.last}",
            company=f"{p.company} {rng.choice(FORMS)}",
            account_id=f"a-{p.company}",
        )
        for p in persons
    ]


def as_seen(p: CrmPerson, rng: np.random.Generator) -> Person:
    """How an activity shows ``p``: the URL 60 % of the time (in some written form), the e-mail 15 %, the name
    always (written in one of several ways), the company 85 %."""
    url = None
    if rng.random() < 0.6:
        host = str(rng.choice(["https://www.linkedin.com", "https://ro.linkedin.com", "linkedin.com"]))
        url = f"{host}/in/{p.slug}{rng.choice(['', '/', '?trk=public_profile', '/?originalSubdomain=ro'])}"
    email = p.email.upper() if rng.random() < 0.05 else (p.email if rng.random() < 0.1 else None)
    first, last = p.first, p.last
    style = rng.random()
    if style < 0.3:
        first, last = _ascii(first), _ascii(last)
    elif style < 0.45:
        first, last = first.translate(OLD_CEDILLA), last.translate(OLD_CEDILLA)
    name = f"{last.upper()} {first}" if rng.random() < 0.25 else f"{first} {'M. ' if rng.random() < 0.1 else ''}{last}"
    company = None
    if rng.random() < 0.85:
        company = str(rng.choice([f"SC {p.company} SRL", p.company, f"{_ascii(p.company)} S.R.L.", p.company.upper()]))
    return Person(profile_url=url, email=email, name=name, company=company)
