"""Unit tests of ``models.leadscore.model``: fit, contributions, persistence and the adoption gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.errors import ArtifactNotFound
from models.leadscore.facts import LeadFacts
from models.leadscore.model import MIN_PER_CLASS, LeadScoringModel, auc, decide, feature_row, rule_scores
from models.leadscore.simulate import simulate


@pytest.fixture(scope="module")
def tenant() -> tuple[list[LeadFacts], list[bool]]:
    leads = simulate(1200, seed=11)
    return [lead.facts for lead in leads], [lead.converted for lead in leads]


@pytest.fixture(scope="module")
def fresh() -> tuple[list[LeadFacts], np.ndarray]:
    leads = simulate(6000, seed=12)
    return [lead.facts for lead in leads], np.array([lead.converted for lead in leads], dtype=np.int64)


def test_a_model_fitted_on_a_tenants_outcomes_ranks_fresh_leads_better_than_the_rule(
    tenant: tuple[list[LeadFacts], list[bool]], fresh: tuple[list[LeadFacts], np.ndarray]
) -> None:
    model = LeadScoringModel.fit(*tenant)
    facts, y = fresh
    p = model.predict(facts)
    assert auc(y, p) > auc(y, rule_scores(facts)) + 0.05
    assert abs(float(p.mean()) - float(y.mean())) < 0.03  # calibrated in the large


def test_contributions_explain_the_log_odds_exactly(tenant: tuple[list[LeadFacts], list[bool]]) -> None:
    model = LeadScoringModel.fit(*tenant)
    lead = tenant[0][0]
    parts = model.contributions(lead, top=100)
    logit = float(model.log_odds(np.asarray([feature_row(lead)]))[0])
    assert sum(c.log_odds for c in parts) == pytest.approx(logit - model.intercept, abs=1e-3)
    assert [abs(c.log_odds) for c in parts] == sorted((abs(c.log_odds) for c in parts), reverse=True)
    assert {"e-mail", "source", "company size"} <= {c.name for c in parts}


def test_a_saved_model_loads_to_the_same_scores(tenant: tuple[list[LeadFacts], list[bool]], tmp_path: Path) -> None:
    model = LeadScoringModel.fit(*tenant)
    loaded = LeadScoringModel.load(model.save(tmp_path / "leadscore.json"))
    assert np.allclose(loaded.predict(tenant[0][:50]), model.predict(tenant[0][:50]))
    with pytest.raises(ArtifactNotFound):
        LeadScoringModel.from_json(model.to_json() | {"artifact_version": 0})
    with pytest.raises(ArtifactNotFound):
        LeadScoringModel.load(tmp_path / "absent.json")


def test_one_outcome_only_is_refused() -> None:
    with pytest.raises(ValueError, match="converted and lost"):
        LeadScoringModel.fit([LeadFacts(), LeadFacts()], [False, False])


def test_a_tenant_with_few_outcomes_keeps_the_rule_and_is_told_why() -> None:
    leads = simulate(60, seed=3)
    decision = decide([lead.facts for lead in leads], [lead.converted for lead in leads])
    assert decision.use == "rule" and decision.model is None
    assert f"needs {MIN_PER_CLASS} of each" in decision.reason


def test_a_tenant_with_enough_outcomes_gets_its_model_with_the_comparison(
    tenant: tuple[list[LeadFacts], list[bool]],
) -> None:
    decision = decide(*tenant)
    assert decision.use == "model" and decision.model is not None and decision.comparison is not None
    assert decision.comparison.model_auc > decision.comparison.rule_auc
    assert decision.model.metadata["comparison"]["holdout"] == 360
    assert decision.model.metadata["rows"] == 1200  # refitted on every outcome once adopted


def test_outcomes_unrelated_to_the_leads_never_replace_the_rule(tenant: tuple[list[LeadFacts], list[bool]]) -> None:
    rng = np.random.default_rng(5)
    noise = (rng.random(len(tenant[0])) < 0.2).tolist()
    decision = decide(tenant[0], noise)
    assert decision.use == "rule" and "not a clear win" in decision.reason
