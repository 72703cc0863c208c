"""What ``analyze-calls`` takes from a folder and its manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve.batch.calls import call_id_of, read_manifest, recordings


def test_recordings_are_the_media_files_in_sorted_relative_order(tmp_path: Path) -> None:
    for name in ("b/2.WAV", "a/1.mp3", "c.mp4", "notes.txt", "a/cover.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert recordings(tmp_path) == ["a/1.mp3", "b/2.WAV", "c.mp4"]


def test_the_manifest_needs_a_file_column_and_refuses_unknown_ones(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("file,call_id,speakers,rep\na.wav,CALL-1,2,\nb.wav,,,\n")
    assert read_manifest(good) == {"a.wav": {"call_id": "CALL-1", "speakers": "2"}, "b.wav": {}}
    missing = tmp_path / "missing.csv"
    missing.write_text("path,call_id\na.wav,1\n")
    with pytest.raises(ValueError, match="'file' column"):
        read_manifest(missing)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("file,callid\na.wav,1\n")
    with pytest.raises(ValueError, match="unknown columns \\['callid'\\]"):
        read_manifest(unknown)


def test_a_recording_is_one_call_per_tenant_whatever_its_name() -> None:
    assert call_id_of("t", "m", "ab" * 32) == call_id_of("t", "m", "ab" * 32)
    assert call_id_of("t", "m", "ab" * 32) != call_id_of("t2", "m", "ab" * 32)
