"""The ``slo.yaml`` schema: objectives per capability, each with its targets, its load and its error budget.

A spec is validated in full before anything is sent, and every mistake is named with its place in the file
(``objectives.2.latency_ms.p95: Input should be greater than 0``). The default spec is ``cluster/slo.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "cluster" / "slo.yaml"

# Bounds on what one run may send: an SLO run is a measurement, not a load test that could take a system down.
MAX_RATE_RPS = 500.0
MAX_DURATION_S = 600.0
MAX_CLIENTS = 500

_WINDOW = re.compile(r"^(\d+)([mhd])$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SpecError(ValueError):
    """The spec file cannot be used; the message names each problem and where it is."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Positive = Annotated[float, Field(gt=0)]


class Percentiles(_Strict):
    """Latency targets in milliseconds; give the percentiles you promise (at least one)."""

    p50: Positive | None = None
    p95: Positive | None = None
    p99: Positive | None = None

    @model_validator(mode="after")
    def _some(self) -> Percentiles:
        if not self.targets():
            raise ValueError("give at least one of p50, p95, p99")
        return self

    def targets(self) -> dict[float, float]:
        """``{quantile: target_ms}``, e.g. ``{0.95: 300.0}``."""
        pairs = {0.5: self.p50, 0.95: self.p95, 0.99: self.p99}
        return {q: v for q, v in pairs.items() if v is not None}


class _Objective(_Strict):
    name: str = Field(description="Unique, lower-case: letters, digits, '-' and '_'.")
    description: str = ""
    warmup_s: Annotated[float, Field(ge=0, le=120)] = 3.0
    duration_s: Annotated[float, Field(gt=0, le=MAX_DURATION_S)] = 15.0
    window: str = Field("30d", description="The error budget's window for the live alert rules, e.g. 30d, 7d, 1h.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "use lower-case letters, digits, '-' and '_' (at most 63), starting with a letter or digit"
            )
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if not _WINDOW.match(value):
            raise ValueError("a number and a unit: m, h or d (e.g. 30d)")
        return value


class ModelObjective(_Objective):
    """A model endpoint at a constant request rate: latency percentiles and the error ratio."""

    kind: Literal["model"]
    model: Literal["sentiment", "embedding"]
    protocol: Literal["http", "grpc"] = "http"
    rate_rps: Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]
    latency_ms: Percentiles
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.001


class IngestionObjective(_Objective):
    """Events posted to ``POST /v1/events`` at a constant rate: lag p95 (event time → stored) and none lost."""

    kind: Literal["ingestion"]
    rate_rps: Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]
    lag_p95_ms: Positive
    max_lost: Annotated[int, Field(ge=0)] = 0
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.001, description="For the live alert rules: the share of POSTs that may fail (the run counts losses)."
    )


class InsightQueryObjective(_Objective):
    """k-NN over stored mentions (pgvector): latency at a rate and known-item recall (a stored mention's own text
    must find it among the k nearest)."""

    kind: Literal["insight_query"]
    rate_rps: Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]
    k: Annotated[int, Field(ge=1, le=100)] = 10
    latency_ms: Percentiles
    recall_at_k: Annotated[float, Field(ge=0, le=1)] = 0.95
    seed_mentions: Annotated[int, Field(ge=5, le=2000)] = 50
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.001


class CrmRestObjective(_Objective):
    """N CRM users, each pausing ``think_time_ms`` between requests (reads, searches, edits, new leads)."""

    kind: Literal["crm_rest"]
    clients: Annotated[int, Field(ge=1, le=MAX_CLIENTS)]
    think_time_ms: Annotated[float, Field(ge=0, le=60_000)] = 500.0
    latency_ms: Percentiles
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.001


class AvailabilityObjective(_Objective):
    """A model endpoint under load while a replica of ``deployment`` is killed (local Ray clusters only): the
    error ratio over the run and the time until the deployment serves again."""

    kind: Literal["availability"]
    model: Literal["sentiment", "embedding"] = "sentiment"
    protocol: Literal["http", "grpc"] = "http"
    rate_rps: Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]
    deployment: str = Field("Sentiment", description="The Serve deployment whose replica is killed.")
    application: str = "vettify"
    kill_after_s: Annotated[float, Field(ge=0)] = 3.0
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.01
    recovery_s: Positive = 120.0
    duration_s: Annotated[float, Field(gt=0, le=MAX_DURATION_S)] = 20.0

    @model_validator(mode="after")
    def _kill_inside_run(self) -> AvailabilityObjective:
        if self.kill_after_s >= self.duration_s:
            raise ValueError("kill_after_s must fall inside duration_s")
        return self


class VoiceObjective(_Objective):
    """Call recordings analysed (transcript, speakers, sentiment) by ``concurrency`` callers one after another:
    the real-time factor a caller sees (answer time over the recording's length)."""

    kind: Literal["voice"]
    concurrency: Annotated[int, Field(ge=1, le=16)] = 1
    profile: Literal["fast", "accurate"] | None = None
    audio_file: Path | None = Field(None, description="A recording to send; default: a call spoken by espeak-ng.")
    real_time_factor_p95: Positive
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.01
    warmup_s: Annotated[float, Field(ge=0, le=120)] = 0.0


class VisionObjective(_Objective):
    """Video-call recordings analysed (faces, emotion, engagement) by ``concurrency`` callers one after another:
    milliseconds per analysed frame as a caller sees them (answer time over frames)."""

    kind: Literal["vision"]
    concurrency: Annotated[int, Field(ge=1, le=16)] = 1
    fps: Annotated[float, Field(gt=0, le=30)] = 2.0
    video_file: Path | None = Field(None, description="A video to send; default: faces from scikit-image's LFW set.")
    ms_per_frame_p95: Positive
    error_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.01
    warmup_s: Annotated[float, Field(ge=0, le=120)] = 0.0


Objective = Annotated[
    ModelObjective
    | IngestionObjective
    | InsightQueryObjective
    | CrmRestObjective
    | AvailabilityObjective
    | VoiceObjective
    | VisionObjective,
    Field(discriminator="kind"),
]


class SloSpec(_Strict):
    version: Literal[1] = 1
    tenant: str = Field("slo-probe", description="The tenant the probes write to, apart from real tenants' data.")
    objectives: list[Objective] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SloSpec:
        names = [o.name for o in self.objectives]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"objective names must be unique; repeated: {', '.join(repeated)}")
        return self

    def select(self, names: list[str] | None) -> list[Objective]:
        if not names:
            return list(self.objectives)
        unknown = sorted(set(names) - {o.name for o in self.objectives})
        if unknown:
            raise SpecError(f"no objective named {', '.join(unknown)} in the spec")
        return [o for o in self.objectives if o.name in names]


def window_seconds(window: str) -> int:
    match = _WINDOW.match(window)
    if match is None:
        raise SpecError(f"bad window {window!r}")
    return int(match.group(1)) * {"m": 60, "h": 3600, "d": 86400}[match.group(2)]


def parse_spec(text: str, source: str = "<spec>") -> SloSpec:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the top level must be a mapping with 'objectives'")
    try:
        return SloSpec.model_validate(data)
    except ValidationError as exc:
        problems = [f"  {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise SpecError(f"{source} has {len(problems)} problem(s):\n" + "\n".join(problems)) from exc


def load_spec(path: Path) -> SloSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the spec {path}: {exc.strerror or exc}") from exc
    return parse_spec(text, str(path))
