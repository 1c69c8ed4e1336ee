"""The candidate model passes the quality gate on the answers it serves, and does not trail production."""

from __future__ import annotations

import json
from typing import Any

import joblib
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import params
from {{ cookiecutter.package_name }}.contract.fastpath import load_served
from {{ cookiecutter.package_name }}.pipeline.evaluate import gate, score
from {{ cookiecutter.package_name }}.release.environments import LAST
from {{ cookiecutter.package_name }}.release.promotion import compare
from tests.conftest import ROOT, need


@pytest.fixture(scope="module")
def held_out() -> pd.DataFrame:
    return pd.read_csv(need(ROOT / "data/prepared/test.csv", "make repro"))


@pytest.fixture(scope="module")
def candidate() -> Pipeline:
    return joblib.load(need(ROOT / "models/model.joblib", "make repro"))


@pytest.fixture(scope="module")
def thresholds() -> dict[str, Any]:
    return params.load("evaluate", ROOT / "params.yaml")


def test_the_candidate_passes_the_thresholds(
    candidate: Pipeline, held_out: pd.DataFrame, thresholds: dict[str, Any]
) -> None:
    values, _ = score(candidate, held_out)
    failed = {name: r for name, r in gate(values, thresholds).items() if not r["passed"]}
    assert not failed, f"quality gate failed on held-out data: {failed}"


def test_the_gated_metrics_are_those_of_the_answers_served(held_out: pd.DataFrame) -> None:
    """evaluate scored the pipeline through contract/predict.py; what the service serves from the packaged
    folder (the fast predictor, when it does) gives the same metrics on the same rows."""
    _, predictor, _, serving = load_served(need(ROOT / "models/lineage.json", "make repro").parent)
    recorded = json.loads(need(ROOT / "reports/metrics.json", "make repro").read_text())
    served, _ = score(predictor, held_out)
    assert served.keys() == recorded.keys(), (served, recorded)
    differ = {name: (served[name], recorded[name]) for name in recorded if abs(served[name] - recorded[name]) > 1e-6}
    assert not differ, f"{serving}: (served, gated) differ: {differ}"


def test_the_candidate_does_not_trail_production(
    candidate: Pipeline, held_out: pd.DataFrame, thresholds: dict[str, Any]
) -> None:
    production = compare.incumbent(LAST)
    if production is None:
        pytest.skip("nothing runs in production yet: no pin and no 'production' alias in the registry")
    training = pd.read_csv(need(ROOT / "data/prepared/train.csv", "make repro"))
    found = compare.compare(candidate, training, production, held_out, thresholds)
    worse = {name: (found.ours[name], found.theirs[name]) for name in found.worse}
    assert not worse, f"candidate vs production {found.against}, on {found.basis}: {worse}"
