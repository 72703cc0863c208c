"""Subjects are matched in one normal form and hashed under a key of their own; certificates and exports
verify only as signed."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_core.privacy.erasure import sign, verify
from crm_core.privacy.export import as_zip
from crm_core.privacy.subject import Subject, hash_key, normalise, subject_hash
from crm_core.services.audit_export import SignatureMismatch
from infra.db.tenancy import TenantContext
from infra.errors import InvalidInput

KEY = Ed25519PrivateKey.generate()
A = TenantContext(tid="t-a", mid="m-1")


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [
        ("email", "  Ana.Pop@Exemplu.RO ", "ana.pop@exemplu.ro"),
        ("handle", "@Ana_Pop", "ana_pop"),
        ("handle", "ana_pop", "ana_pop"),
        ("contact", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    ],
)
def test_normal_forms(kind: str, raw: str, normal: str) -> None:
    assert normalise(kind, raw) == normal  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "raw"), [("email", "ana"), ("email", "ana@localhost"), ("handle", "@"), ("handle", "a b")]
)
def test_bad_subjects_are_refused(kind: str, raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalise(kind, raw)  # type: ignore[arg-type]


def test_the_hash_is_keyed_per_tenant_and_blind_to_spelling() -> None:
    key = hash_key(KEY)
    assert key != hash_key(Ed25519PrivateKey.generate())
    one = subject_hash(key, A, "email", "Ana.Pop@exemplu.ro")
    assert one == subject_hash(key, A, "email", "ana.pop@EXEMPLU.ro")
    assert one != subject_hash(key, TenantContext(tid="t-b", mid="m-1"), "email", "ana.pop@exemplu.ro")
    assert one != subject_hash(hash_key(Ed25519PrivateKey.generate()), A, "email", "ana.pop@exemplu.ro")
    assert "ana" not in one and one.startswith("hmac-sha256:")


def test_a_signed_document_verifies_and_any_change_breaks_it() -> None:
    signed = sign({"removed": {"mentions": 2}, "subject_hash": "h"}, KEY)
    verify(signed, KEY.public_key())
    with pytest.raises(SignatureMismatch, match="changed"):
        verify({**signed, "removed": {"mentions": 1}}, KEY.public_key())
    with pytest.raises(SignatureMismatch, match="another key"):
        verify(signed, Ed25519PrivateKey.generate().public_key())


def test_the_subject_survives_its_json_round_trip() -> None:
    subject = Subject(
        contacts=[uuid.uuid4()],
        leads=[uuid.uuid4()],
        emails=["a@b.ro"],
        handles=["a"],
        sessions=["s-1"],
        sole_traders=[{"account_id": str(uuid.uuid4()), "cui": "18547290"}],
    )
    assert Subject.from_json(subject.to_json()) == subject
    assert subject.visitors == [str(subject.contacts[0]), "a@b.ro"]


def test_the_zip_holds_the_signed_json_and_a_csv_per_non_empty_table() -> None:
    document = sign({"tables": {"mentions": [{"text": "salut", "aspects": []}], "calls": []}}, KEY)
    with zipfile.ZipFile(io.BytesIO(as_zip(document))) as archive:
        assert sorted(archive.namelist()) == ["export.json", "mentions.csv"]
        verify(json.loads(archive.read("export.json")), KEY.public_key())
        assert archive.read("mentions.csv").decode() == "aspects,text\n[],salut\n"
