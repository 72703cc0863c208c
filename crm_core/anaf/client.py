"""Client for ANAF's public taxpayer service (PlatitorTvaRest v9).

Per call: ≤ 100 CUIs, ≤ 1 call per second across the deployment (Redis slot),
a 10 s timeout, retries with exponential backoff and jitter on timeouts,
connection errors, 429 (honouring ``Retry-After``), 5xx and malformed JSON,
behind a circuit breaker. Answers are cached in Redis per CUI and date.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable, Sequence
from datetime import date

import httpx
import redis.asyncio as aioredis
from pydantic import ValidationError

from crm_core.anaf.cui import normalize_cui
from crm_core.anaf.models import CompanyRecord, TvaResponse
from crm_core.anaf.resilience import CircuitBreaker, CircuitOpen, RedisRateLimiter
from infra.settings import Settings

logger = logging.getLogger(__name__)

TVA_PATH = "/api/PlatitorTvaRest/v9/tva"
MAX_BATCH = 100
CACHE_PREFIX = "vettify:anaf:v9:"
RATE_KEY = "vettify:anaf:rate"


class AnafUnavailable(RuntimeError):
    """ANAF could not answer now (down, slow, rate-limited, circuit open): retry later."""


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class AnafClient:
    def __init__(
        self,
        *,
        base_url: str,
        redis: aioredis.Redis,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
        cache_ttl_s: int = 24 * 3600,
        min_interval_s: float = 1.0,
        max_attempts: int = 4,
        backoff_base_s: float = 0.5,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redis = redis
        self.http = http or httpx.AsyncClient(timeout=timeout_s)
        self.timeout_s = timeout_s
        self.cache_ttl_s = cache_ttl_s
        self.limiter = RedisRateLimiter(redis, RATE_KEY, min_interval_s)
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.breaker = breaker or CircuitBreaker()
        self.calls = 0

    @classmethod
    def from_settings(cls, settings: Settings, redis: aioredis.Redis) -> AnafClient:
        return cls(
            base_url=settings.anaf_base_url,
            redis=redis,
            timeout_s=settings.anaf_timeout_s,
            cache_ttl_s=settings.anaf_cache_ttl_s,
            min_interval_s=settings.anaf_min_interval_s,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def lookup(self, cuis: Iterable[str], on: date | None = None) -> dict[str, CompanyRecord]:
        """Records for every CUI (normalised keys); raises :class:`AnafUnavailable`."""
        day = (on or date.today()).isoformat()
        wanted = sorted({normalize_cui(c) for c in cuis})
        results = await self._cached(wanted, day)
        missing = [c for c in wanted if c not in results]
        for start in range(0, len(missing), MAX_BATCH):
            chunk = missing[start : start + MAX_BATCH]
            fetched = await self._fetch(chunk, day)
            await self._store(fetched.values(), day)
            results.update(fetched)
        return results

    async def _cached(self, cuis: Sequence[str], day: str) -> dict[str, CompanyRecord]:
        if not cuis or self.cache_ttl_s == 0:
            return {}
        values = await self.redis.mget([f"{CACHE_PREFIX}{c}:{day}" for c in cuis])
        return {c: CompanyRecord.model_validate_json(v) for c, v in zip(cuis, values, strict=True) if v is not None}

    async def _store(self, records: Iterable[CompanyRecord], day: str) -> None:
        if self.cache_ttl_s == 0:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.set(f"{CACHE_PREFIX}{record.cui}:{day}", record.model_dump_json(), ex=self.cache_ttl_s)
            await pipe.execute()

    async def _fetch(self, cuis: Sequence[str], day: str) -> dict[str, CompanyRecord]:
        try:
            self.breaker.before_call()
        except CircuitOpen as exc:
            raise AnafUnavailable(str(exc)) from exc
        last: _Retryable | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self.limiter.acquire()
                answer = await self._call(cuis, day)
            except _Retryable as exc:
                last = exc
                if attempt == self.max_attempts:
                    break
                delay = exc.retry_after_s or self.backoff_base_s * 2 ** (attempt - 1) * (1 + random.random() / 2)  # noqa: S311
                logger.warning(
                    "ANAF attempt %d/%d failed (%s); retrying in %.2fs", attempt, self.max_attempts, exc, delay
                )
                await asyncio.sleep(delay)
                continue
            self.breaker.record_success()
            return self._records(answer, cuis, day)
        self.breaker.record_failure()
        raise AnafUnavailable(f"ANAF did not answer after {self.max_attempts} attempts: {last}")

    async def _call(self, cuis: Sequence[str], day: str) -> TvaResponse:
        body = [{"cui": int(c), "data": day} for c in cuis]
        self.calls += 1
        try:
            response = await self.http.post(f"{self.base_url}{TVA_PATH}", json=body, timeout=self.timeout_s)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout after {self.timeout_s:g}s") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error: {exc}") from exc
        if response.status_code == 429:
            raise _Retryable("rate limited (429)", _retry_after(response))
        if response.status_code >= 500:
            raise _Retryable(f"server error {response.status_code}")
        try:
            payload = response.json()
            # ANAF sometimes answers a batch with HTTP 404 and a valid found/notFound body.
            if not isinstance(payload, dict) or ("found" not in payload and "notFound" not in payload):
                raise _Retryable(f"unexpected answer (HTTP {response.status_code})")
            return TvaResponse.model_validate(payload)
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            raise _Retryable(f"malformed answer (HTTP {response.status_code}): {exc}") from exc

    @staticmethod
    def _records(answer: TvaResponse, cuis: Sequence[str], day: str) -> dict[str, CompanyRecord]:
        found = {str(entry.date_generale.cui): CompanyRecord.from_found(entry, day) for entry in answer.found}
        records = {c: found.get(c) or CompanyRecord.not_found(c, day) for c in cuis}
        return records


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None
