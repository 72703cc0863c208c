"""Whisper profiles: the base model is joined from its two packages once, checked, and never half-written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from models.errors import ArtifactNotFound, InvalidInput
from models.voice import profiles


def test_base_is_assembled_once_with_the_pinned_checksum(tmp_path: Path) -> None:
    folder = profiles.assemble_base(tmp_path)
    assert {p.name for p in folder.iterdir()} == {"model.bin", "model.bin.sha256", *profiles.BASE_SIDE_FILES}
    digest = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    assert digest == profiles.BASE_MODEL_SHA256
    written = (folder / "model.bin").stat().st_mtime_ns
    assert profiles.assemble_base(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == written  # the second call only reads the marker


def test_a_bad_part_is_refused_and_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    side, part1, _ = profiles.base_parts()
    truncated = tmp_path / "model.bin.part2"
    truncated.write_bytes(b"\0" * 1024)  # a download cut short
    monkeypatch.setattr(profiles, "base_parts", lambda: (side, part1, truncated))
    artifacts = tmp_path / "artifacts"
    with pytest.raises(ArtifactNotFound, match="checksum"):
        profiles.assemble_base(artifacts)
    assert list((artifacts / "whisper-base").iterdir()) == []  # no model.bin, no marker, no temporary file


def test_profile_names_and_folders(tmp_path: Path) -> None:
    assert profiles.parse_profile(None) == profiles.DEFAULT_PROFILE
    assert profiles.parse_profile("fast") == "fast"
    with pytest.raises(InvalidInput, match="choose one of fast, accurate"):
        profiles.parse_profile("turbo")
    assert (profiles.model_folder("fast", tmp_path) / "model.bin").is_file()
    with pytest.raises(ArtifactNotFound, match=r"no model\.bin"):
        profiles.model_folder("accurate", tmp_path, override=tmp_path)
