"""Vision on real photos shipped by scikit-image: detection rate, emotions, attention, ms per frame.

    python -m models.vision.evaluate [--out benchmarks/results/vision_eval.json]

* ``skimage.data.astronaut()`` (512x512 portrait): one face, expected "happy", facing the camera.
* ``skimage.data.lfw_subset()``: 200 Labeled-Faces-in-the-Wild crops (100 faces + 100 non-faces,
  25x25 grayscale, upscaled to 200x200): face detection rate on the first 100, false positives on the rest.
* A video assembled from them (2 fps; faces, then empty frames): the call timeline and summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

FACE_SIZE = 200


def lfw_frames() -> tuple[list[NDArray[np.uint8]], list[NDArray[np.uint8]]]:
    import cv2
    from skimage import data

    images = data.lfw_subset()  # type: ignore[no-untyped-call]
    frames = [
        cv2.resize((img * 255).astype(np.uint8), (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_CUBIC)
        for img in images
    ]
    return frames[:100], frames[100:]


def assemble_video(frames: list[NDArray[np.uint8]], path: Path, fps: float = 2.0, size: int = 256) -> Path:
    """Write RGB/gray frames as an MJPG AVI (OpenCV's always-available encoder)."""
    import cv2

    fourcc = cv2.VideoWriter_fourcc(*"MJPG")  # type: ignore[attr-defined]
    writer = cv2.VideoWriter(str(path), fourcc, fps, (size, size))
    for frame in frames:
        rgb = frame if frame.ndim == 3 else np.repeat(frame[:, :, None], 3, axis=2)
        writer.write(cv2.cvtColor(cv2.resize(rgb, (size, size)), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def evaluate() -> dict[str, Any]:
    from skimage import data

    from models.vision.analyzer import VisionAnalyzer

    analyzer = VisionAnalyzer()
    portrait = data.astronaut()  # type: ignore[no-untyped-call]
    astronaut = analyzer.analyze_image(portrait)
    faces, non_faces = lfw_frames()
    started = time.perf_counter()
    detected = sum(analyzer.analyze_image(f).summary.face_presence_ratio > 0 for f in faces)
    static_ms = (time.perf_counter() - started) * 1000 / len(faces)
    false_positives = sum(analyzer.analyze_image(f).summary.face_presence_ratio > 0 for f in non_faces)
    blank = [np.full((FACE_SIZE, FACE_SIZE), 127, dtype=np.uint8)] * 10
    with tempfile.TemporaryDirectory() as tmp:
        video = assemble_video([portrait] * 4 + faces[:20] + blank, Path(tmp) / "call.avi")
        call = analyzer.analyze_video(video, fps=2.0)
    face = astronaut.timeline[0].faces[0] if astronaut.timeline[0].faces else None
    return {
        "model": analyzer.version,
        "astronaut": {
            "faces": len(astronaut.timeline[0].faces),
            "emotion": face.emotion if face else None,
            "attention": face.attention if face else None,
            "eye_openness": face.eye_openness if face else None,
            "ms": astronaut.summary.ms_per_frame,
        },
        "lfw_subset": {
            "face_detection_rate": round(detected / len(faces), 4),
            "false_positive_rate_on_non_faces": round(false_positives / len(non_faces), 4),
            "ms_per_image": round(static_ms, 2),
        },
        "video": {
            "frames": call.summary.frames,
            "face_presence_ratio": call.summary.face_presence_ratio,
            "expected_presence_ratio": round(24 / 34, 4),
            "mean_attention": call.summary.mean_attention,
            "mean_engagement": call.summary.mean_engagement,
            "dominant_emotion": call.summary.dominant_emotion,
            "ms_per_frame": call.summary.ms_per_frame,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/vision_eval.json"))
    args = parser.parse_args(argv)
    report = evaluate()
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"[vision] wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
