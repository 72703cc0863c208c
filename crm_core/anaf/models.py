"""ANAF PlatitorTvaRest v9 answer, parsed leniently, and the normalised company record.

Request: ``POST {base}/api/PlatitorTvaRest/v9/tva`` with ``[{"cui": 123, "data": "YYYY-MM-DD"}]``
(at most 100 entries). Answer: ``{"cod", "message", "found": [...], "notFound": [cui, ...]}``;
each found entry has ``date_generale`` (denumire, adresa, nrRegCom, stare_inregistrare,
statusRO_e_Factura, …), ``inregistrare_scop_Tva.scpTVA`` and ``stare_inactiv``
(statusInactivi, dataInactivare, dataReactivare, dataRadiere).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_core.schemas.enums import ComplianceStatus


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class GeneralData(_Lenient):
    cui: int
    data: str | None = None
    denumire: str = ""
    adresa: str | None = None
    nrRegCom: str | None = None
    telefon: str | None = None
    codPostal: str | None = None
    stare_inregistrare: str | None = None
    data_inregistrare: str | None = None
    cod_CAEN: str | None = None
    statusRO_e_Factura: bool | None = None
    forma_juridica: str | None = None


class VatRegistration(_Lenient):
    scpTVA: bool = False


class InactiveState(_Lenient):
    statusInactivi: bool = False
    dataInactivare: str | None = None
    dataReactivare: str | None = None
    dataRadiere: str | None = None


class FoundCompany(_Lenient):
    date_generale: GeneralData
    inregistrare_scop_Tva: VatRegistration = Field(default_factory=VatRegistration)
    stare_inactiv: InactiveState = Field(default_factory=InactiveState)


class TvaResponse(_Lenient):
    cod: int | None = None
    message: str | None = None
    found: list[FoundCompany] = Field(default_factory=list)
    notFound: list[int] = Field(default_factory=list)

    @field_validator("notFound", mode="before")
    @classmethod
    def _cuis(cls, value: Any) -> list[int]:
        items = value or []
        return [int(v["cui"]) if isinstance(v, dict) else int(v) for v in items]


class CompanyRecord(BaseModel):
    """What the CRM keeps of one ANAF answer (stored in ``accounts.anaf_data``)."""

    cui: str
    found: bool
    official_name: str | None = None
    address: str | None = None
    registration_number: str | None = None
    registration_status: str | None = None
    caen: str | None = None
    vat_registered: bool | None = None
    inactive: bool | None = None
    deregistered: bool | None = None
    e_invoice_registered: bool | None = None
    checked_for_date: str | None = None

    @property
    def compliance(self) -> ComplianceStatus:
        if not self.found:
            return ComplianceStatus.NOT_FOUND
        if self.inactive or self.deregistered:
            return ComplianceStatus.INACTIVE
        return ComplianceStatus.VERIFIED

    @classmethod
    def from_found(cls, entry: FoundCompany, on: str) -> CompanyRecord:
        general, inactive = entry.date_generale, entry.stare_inactiv

        def text(value: str | None) -> str | None:
            return value.strip() or None if value else None

        return cls(
            cui=str(general.cui),
            found=True,
            official_name=text(general.denumire),
            address=text(general.adresa),
            registration_number=text(general.nrRegCom),
            registration_status=text(general.stare_inregistrare),
            caen=text(general.cod_CAEN),
            vat_registered=entry.inregistrare_scop_Tva.scpTVA,
            inactive=inactive.statusInactivi,
            deregistered=bool(text(inactive.dataRadiere)),
            e_invoice_registered=general.statusRO_e_Factura,
            checked_for_date=general.data or on,
        )

    @classmethod
    def not_found(cls, cui: str, on: str) -> CompanyRecord:
        return cls(cui=cui, found=False, checked_for_date=on)
