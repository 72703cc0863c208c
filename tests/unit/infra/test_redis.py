"""Without VETTIFY_REDIS_URL the engine runs on fakeredis, shared in-process."""

from __future__ import annotations

from pathlib import Path

from infra.redis import create_redis
from infra.settings import Settings


async def test_absent_redis_url_gives_a_working_shared_fake(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=None)
    writer, reader = create_redis(settings), create_redis(settings)
    await writer.set("vettify:unit", b"1", ex=30)
    assert await reader.get("vettify:unit") == b"1"
    await writer.aclose()
    await reader.aclose()
