"""Vision on real photos shipped by scikit-image (astronaut, LFW subset) and a video assembled from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from models.errors import InvalidInput
from models.vision.analyzer import VisionAnalyzer, decode_image, sample_video
from models.vision.emotion import EMOTIONS, EmotionClassifier
from models.vision.evaluate import assemble_video, lfw_frames


@pytest.fixture(scope="module")
def analyzer() -> VisionAnalyzer:
    return VisionAnalyzer()


def test_astronaut_is_one_happy_attentive_face(analyzer: VisionAnalyzer) -> None:
    result = analyzer.analyze_image(data.astronaut())  # type: ignore[no-untyped-call]
    faces = result.timeline[0].faces
    assert len(faces) == 1
    face = faces[0]
    assert face.emotion == "happy"
    assert face.emotions["happy"] > 0.8
    assert face.eye_openness > 0.6
    assert abs(face.yaw) < 0.3
    assert face.attention > 0.6
    x, y, w, h = face.box
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 220  # the face, not the suit or the flag


def test_lfw_faces_are_found_and_non_faces_are_not(analyzer: VisionAnalyzer) -> None:
    faces, non_faces = lfw_frames()
    found = sum(analyzer.analyze_image(f).timeline[0].face_present for f in faces[:20])
    false = sum(analyzer.analyze_image(f).timeline[0].face_present for f in non_faces[:20])
    assert found >= 18
    assert false <= 1


def test_video_timeline_and_summary(analyzer: VisionAnalyzer, tmp_path: Path) -> None:
    faces, _ = lfw_frames()
    blank = [np.full((200, 200), 127, dtype=np.uint8)] * 4
    portrait = data.astronaut()  # type: ignore[no-untyped-call]
    video = assemble_video([portrait] * 4 + faces[:4] + blank, tmp_path / "call.avi", fps=2.0)
    result = analyzer.analyze_video(video.read_bytes(), fps=2.0)
    assert result.summary.frames == 12
    assert [f.face_present for f in result.timeline[-4:]] == [False] * 4
    assert result.summary.face_presence_ratio == pytest.approx(8 / 12, abs=1 / 12)
    assert result.summary.duration_s == pytest.approx(6.0, abs=0.6)
    assert result.summary.dominant_emotion in EMOTIONS
    assert [f["timestamp_s"] for f in result.as_dict()["timeline"]][:3] == [0.0, 0.5, 1.0]
    half = analyzer.analyze_video(video, fps=1.0)
    assert half.summary.frames == 6


def test_emotion_network_matches_its_keras_shape() -> None:
    classifier = EmotionClassifier()
    probabilities = classifier.predict([np.zeros((48, 48), dtype=np.uint8), np.full((64, 64), 200, np.uint8)])
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(InvalidInput):
        classifier.predict([np.zeros((4, 4), dtype=np.uint8)])


def test_bad_media_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        decode_image(b"")
    with pytest.raises(InvalidInput, match="cannot decode"):
        decode_image(b"not an image")
    with pytest.raises(InvalidInput, match="cannot decode the video"):
        sample_video(b"not a video at all", 2.0)
    with pytest.raises(InvalidInput, match="fps"):
        sample_video(b"x", 100.0)
    with pytest.raises(InvalidInput, match="too small"):
        VisionAnalyzer.analyze_image(VisionAnalyzer.__new__(VisionAnalyzer), np.zeros((8, 8, 3), dtype=np.uint8))
