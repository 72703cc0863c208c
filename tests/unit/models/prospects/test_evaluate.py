from pathlib import Path

import pytest

from models.prospects import evaluate


@pytest.mark.slow
def test_the_evaluation_writes_goals_computed_from_its_figures(tmp_path: Path) -> None:
    import json

    out = tmp_path / "p.json"
    evaluate.main(["--out", str(out), "--repeats", "1"])
    report = json.loads(out.read_text())
    assert set(report["goals"]) >= {"matching_precision_ge_0_99", "twins_never_linked_to_the_other"}
    assert all(isinstance(v, bool) for v in report["goals"].values())
    assert report["matching"]["twin_wrong"] == 0
    assert (tmp_path / "p.png").stat().st_size > 10_000
