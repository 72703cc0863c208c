"""The recordings the voice and vision objectives send: the operator's own file, or real speech and faces made
from what this machine ships (espeak-ng speaking a sales call; scikit-image's LFW faces as a video call)."""

from __future__ import annotations

import mimetypes
import shutil
import subprocess
import tempfile
from pathlib import Path

CALL = (
    "Hello, this is Ana from Vettify. Thank you for taking the time to talk about your renewal today. "
    "We looked at your usage and the new pricing would save your team about ten percent next year. "
    "Could we schedule a demo with your operations lead on Thursday afternoon?"
)
TYPES = {
    ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
    ".avi": "video/x-msvideo", ".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
}  # fmt: skip


class MediaUnavailable(RuntimeError):
    """No recording was given and the default cannot be made here."""


def _read(path: Path) -> tuple[bytes, str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaUnavailable(f"cannot read {path}: {exc.strerror or exc}") from exc
    content_type = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if content_type is None:
        raise MediaUnavailable(f"cannot tell the media type of {path.name}; use .wav, .flac, .ogg, .mp3, .avi or .mp4")
    return data, content_type


def call_recording(path: Path | None) -> tuple[bytes, str]:
    """The given recording, or a sales call spoken by Debian's ``espeak-ng`` (about 15 s, WAV)."""
    if path is not None:
        return _read(path)
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise MediaUnavailable("give audio_file in the spec, or install espeak-ng (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory(prefix="vettify-slo-") as folder:
        target = Path(folder) / "call.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "160", "-w", str(target), CALL], check=True, capture_output=True)
        return target.read_bytes(), "audio/wav"


def video_call(path: Path | None, frames: int = 20) -> tuple[bytes, str]:
    """The given video, or ``frames`` faces from scikit-image's LFW set as an MJPG video at 2 frames a second."""
    if path is not None:
        return _read(path)
    from models.vision.evaluate import assemble_video, lfw_frames

    faces, _ = lfw_frames()
    with tempfile.TemporaryDirectory(prefix="vettify-slo-") as folder:
        video = assemble_video(faces[:frames], Path(folder) / "call.avi", fps=2.0)
        return video.read_bytes(), "video/x-msvideo"
