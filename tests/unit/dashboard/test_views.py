"""Every view has its ES module; no module writes markup."""

from __future__ import annotations

from pathlib import Path

from dashboard.views import VIEWS

STATIC = Path(__file__).resolve().parents[3] / "dashboard" / "static"


def test_every_view_has_an_es_module_with_mount() -> None:
    assert len({v.key for v in VIEWS}) == len(VIEWS)
    for view in VIEWS:
        source = (STATIC / view.script).read_text()
        assert "export async function mount(" in source, view.key
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source  # text only, never markup


def test_the_core_never_writes_markup() -> None:
    core = (STATIC / "app.js").read_text()
    assert "innerHTML" not in core and "document.write" not in core
