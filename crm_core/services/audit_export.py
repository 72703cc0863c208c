"""Signed audit exports: CSV plus an Ed25519 signature over its exact bytes.

The signature file is JSON: algorithm, key id (first 16 hex digits of the
SHA-256 of the raw public key), SHA-256 of the CSV, row count, tenant, time
window and the base64 signature. Anyone with the public key can check that the
CSV is exactly what the engine exported (``vettify audit verify``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infra.db.tenancy import TenantContext

COLUMNS = ("created_at", "id", "actor", "action", "entity_type", "entity_id", "corr_id", "before", "after")
MAX_ROWS = 1_000_000

EXPORT_SQL = """
SELECT created_at, id, actor, action, entity_type, entity_id, corr_id, before, after
FROM crm.audit_log
WHERE tid = $1 AND mid = $2 AND created_at >= $3 AND created_at < $4
ORDER BY created_at, id
LIMIT $5
"""


class SignatureMismatch(ValueError):
    """The file, the signature and the key do not belong together."""


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM key at ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SignedExport:
    csv_bytes: bytes
    signature: dict[str, Any]

    @property
    def signature_json(self) -> bytes:
        return json.dumps(self.signature, indent=2, sort_keys=True).encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


async def export_audit(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    key: Ed25519PrivateKey,
    since: datetime,
    until: datetime,
) -> SignedExport:
    rows = await conn.fetch(EXPORT_SQL, tenant.tid, tenant.mid, since, until, MAX_ROWS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    data = buffer.getvalue().encode()
    signature = {
        "algorithm": "Ed25519",
        "key_id": key_id(key),
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": len(rows),
        "tid": tenant.tid,
        "mid": tenant.mid,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "signature": base64.b64encode(key.sign(data)).decode(),
    }
    return SignedExport(data, signature)


def verify_export(csv_bytes: bytes, signature: dict[str, Any], public_key_pem: bytes) -> None:
    """Raise :class:`SignatureMismatch` unless ``signature`` signs exactly ``csv_bytes``."""
    public = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(public, Ed25519PublicKey):
        raise SignatureMismatch("the public key is not an Ed25519 key")
    if signature.get("key_id") != key_id(public):
        raise SignatureMismatch(f"signed with key {signature.get('key_id')}, not with {key_id(public)}")
    if hashlib.sha256(csv_bytes).hexdigest() != signature.get("sha256"):
        raise SignatureMismatch("the CSV differs from the exported one (SHA-256 mismatch)")
    try:
        public.verify(base64.b64decode(signature["signature"]), csv_bytes)
    except (InvalidSignature, KeyError, ValueError) as exc:
        raise SignatureMismatch("the Ed25519 signature does not verify") from exc
