"""Who spoke when: speaker embeddings over VAD speech, clustered into speakers.

The embeddings come from the GE2E speaker encoder whose weights ship inside
the ``resemblyzer`` wheel (``pretrained.pt``: 3-layer LSTM over 40-band mel
frames, 256-d L2-normed output). The package's own audio front end needs
librosa and webrtcvad, so only its weights are used: the network and the mel
filterbank (librosa's Slaney-normalised filters, power spectrogram, no log,
as the encoder was trained) are written here, and the engine's Silero VAD
replaces webrtcvad.

Speech is cut into windows of 1.6 s (the encoder's training length), stepped
every 0.8 s within each stretch of speech; windows are clustered by cosine
distance (average linkage, with a distance threshold, or an exact count
when the caller knows it); every moment of speech takes the label of the
nearest window, and runs of one label are the speaker turns.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.errors import ArtifactNotFound
from models.voice.vad import SAMPLE_RATE, Span

N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
WINDOW_FRAMES = 160  # 1.6 s
STEP_FRAMES = 80  # 0.8 s
MIN_FRAMES = 50  # stretches shorter than 0.5 s are too short to embed; they take their neighbours' label
DISTANCE_THRESHOLD = 0.35
"""Cosine distance at which two clusters stay apart; same-voice windows sit below ~0.2, different voices above ~0.4."""
TARGET_DBFS = -30.0


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float


def encoder_weights() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound("the 'resemblyzer' package is not installed (make install installs it without deps)")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise ArtifactNotFound(f"no speaker encoder weights at {path}: reinstall resemblyzer")
    return path


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    mel = hz / f_sp
    log_region = hz >= min_log_hz
    mel[log_region] = min_log_mel + np.log(hz[log_region] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    hz = mel * f_sp
    log_region = mel >= min_log_mel
    hz[log_region] = min_log_hz * np.exp(logstep * (mel[log_region] - min_log_mel))
    return hz


def mel_filters() -> NDArray[np.float64]:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) with Slaney scale and area normalisation."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.array([SAMPLE_RATE / 2.0]))[0], N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    weights = np.zeros((N_MELS, fft_freqs.size))
    for i in range(N_MELS):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2 : N_MELS + 2] - edges[:N_MELS]))[:, None]
    return weights


_FILTERS = mel_filters()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def mel_frames(samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """(frames, 40) mel power spectrogram, centred frames every 10 ms (the encoder's input)."""
    padded = np.pad(samples.astype(np.float64), N_FFT // 2)
    count = 1 + (padded.size - N_FFT) // HOP
    if count <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    strides = (padded.strides[0] * HOP, padded.strides[0])
    frames = np.lib.stride_tricks.as_strided(padded, shape=(count, N_FFT), strides=strides)
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power @ _FILTERS.T).astype(np.float32)


def normalise_volume(samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """Raise quiet audio to -30 dBFS (never lowers it), as the encoder's training data was."""
    power = float(np.mean(samples.astype(np.float64) ** 2))
    if power <= 0:
        return samples
    change = TARGET_DBFS - 10 * np.log10(power)
    return samples * np.float32(10 ** (change / 20)) if change > 0 else samples


class SpeakerEncoder:
    """The GE2E LSTM from resemblyzer's weights; thread-safe (one forward at a time)."""

    def __init__(self, weights: Path | None = None) -> None:
        import torch
        from torch import nn

        self._torch = torch
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = torch.load(weights or encoder_weights(), map_location="cpu", weights_only=False)["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.eval()
        self.linear.eval()
        self._lock = threading.Lock()

    def embed(self, windows: NDArray[np.float32]) -> NDArray[np.float32]:
        """(n, frames, 40) mel windows → (n, 256) unit vectors."""
        torch = self._torch
        with self._lock, torch.inference_mode():
            _, (hidden, _) = self.lstm(torch.from_numpy(np.ascontiguousarray(windows)))
            raw = torch.relu(self.linear(hidden[-1]))
            vectors = raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=1e-8)
        out: NDArray[np.float32] = vectors.numpy().astype(np.float32)
        return out


def _windows(spans: list[Span], total_frames: int) -> list[tuple[int, int]]:
    """(first, last) mel-frame ranges to embed: 1.6 s windows every 0.8 s inside each span."""
    out: list[tuple[int, int]] = []
    for span in spans:
        first, last = int(span.start * 100), min(int(span.end * 100), total_frames)
        if last - first < MIN_FRAMES:
            continue
        if last - first <= WINDOW_FRAMES:
            out.append((first, last))
            continue
        start = first
        while start + WINDOW_FRAMES < last:
            out.append((start, start + WINDOW_FRAMES))
            start += STEP_FRAMES
        out.append((last - WINDOW_FRAMES, last))
    return out


def _cluster(vectors: NDArray[np.float32], speakers: int | None) -> NDArray[np.int64]:
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) == 1 or speakers == 1:
        return np.zeros(len(vectors), dtype=np.int64)
    if speakers is not None:
        model: Any = AgglomerativeClustering(n_clusters=min(speakers, len(vectors)), metric="cosine", linkage="average")
    else:
        model = AgglomerativeClustering(
            n_clusters=None, distance_threshold=DISTANCE_THRESHOLD, metric="cosine", linkage="average"
        )
    labels: NDArray[np.int64] = model.fit_predict(vectors).astype(np.int64)
    return labels


def diarize(
    encoder: SpeakerEncoder, samples: NDArray[np.float32], spans: list[Span], speakers: int | None = None
) -> list[Turn]:
    """Speaker turns over ``spans`` of mono ``samples``; speakers are named S1, S2, … by first appearance."""
    if not spans:
        return []
    mel = mel_frames(normalise_volume(samples))
    windows = _windows(spans, len(mel))
    if not windows:
        return [Turn("S1", span.start, span.end) for span in spans]
    groups: dict[int, list[int]] = {}
    for index, (first, last) in enumerate(windows):
        groups.setdefault(last - first, []).append(index)
    vectors = np.zeros((len(windows), 256), dtype=np.float32)
    for length, indices in groups.items():  # one batch per window length (full windows are all 160 frames)
        batch = np.stack([mel[windows[i][0] : windows[i][0] + length] for i in indices])
        vectors[indices] = encoder.embed(batch)
    labels = _cluster(vectors, speakers)
    centres = np.array([(first + last) / 200.0 for first, last in windows])
    return _turns(spans, centres, labels)


def _turns(spans: list[Span], centres: NDArray[np.float64], labels: NDArray[np.int64]) -> list[Turn]:
    """Label every 0.1 s of speech with its nearest window's cluster; runs of one label become turns."""
    names: dict[int, str] = {}
    turns: list[Turn] = []
    for span in spans:
        steps = np.arange(span.start, span.end, 0.1)
        for t in steps:
            label = int(labels[int(np.argmin(np.abs(centres - (t + 0.05))))])
            name = names.setdefault(label, f"S{len(names) + 1}")
            end = min(t + 0.1, span.end)
            if turns and turns[-1].speaker == name and abs(turns[-1].end - t) < 1e-6:
                turns[-1] = Turn(name, turns[-1].start, end)
            else:
                turns.append(Turn(name, float(t), float(end)))
    return [Turn(t.speaker, round(t.start, 2), round(t.end, 2)) for t in turns]
