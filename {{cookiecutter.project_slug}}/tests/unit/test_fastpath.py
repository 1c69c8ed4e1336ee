"""The fast predictor is exactly the model: equal labels, probabilities within RTOL/ATOL, for each task.

Tiny models of all three tasks are fitted on rows drawn from the contract (whatever task this project
has), so the derivation is checked for binary, multiclass and regression in every bake.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE, LINEAGE_FILE, ArtifactError, sha256_file
from {{ cookiecutter.package_name }}.contract.fastpath import FAST_PATH_FILE, FastPredictor, disagreement, load_served
from {{ cookiecutter.package_name }}.contract.schema import FEATURE_NAMES
from {{ cookiecutter.package_name }}.pipeline import compile_fastpath, features
from tests.conftest import identity_record
from tests.strategies import batches, synthetic_frame

TASKS = ("binary", "multiclass", "regression")


def fit(task: str, rows: int = 200) -> Any:
    frame = synthetic_frame(rows, seed=3)
    x = frame[list(FEATURE_NAMES)]
    score = np.random.default_rng(4).normal(size=rows) + np.arange(rows) % 3
    estimator: Any = HistGradientBoostingRegressor(max_iter=15, max_leaf_nodes=7, random_state=0)
    y: Any = score * 100.0
    if task != "regression":
        names = np.array(["no", "yes"] if task == "binary" else ["a", "b", "c"])
        y = names[(score > 1).astype(int) if task == "binary" else np.clip(score.round(), 0, 2).astype(int)]
        estimator = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=7, random_state=0)
    model: Any = Pipeline([("preprocess", features.preprocessor()), ("estimator", estimator)])
    if task == "binary":  # a threshold away from 0.5, so a rule that ignored it would disagree
        model = FixedThresholdClassifier(model, threshold=0.3, response_method="predict_proba")
    return model.fit(x, y)


@pytest.fixture(scope="module")
def models() -> dict[str, tuple[Any, FastPredictor]]:
    fitted = {task: fit(task) for task in TASKS}
    # Through JSON, as the packaged file is read.
    return {task: (m, FastPredictor(json.loads(json.dumps(compile_fastpath.derive(m))))) for task, m in fitted.items()}


@pytest.mark.parametrize("task", TASKS)
def test_the_fast_path_agrees_on_held_out_and_contract_rows(models: dict[str, Any], task: str) -> None:
    model, fast = models[task]
    frame = synthetic_frame(120, seed=9)[list(FEATURE_NAMES)]
    held_out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    assert disagreement(fast, model, held_out + compile_fastpath.contract_rows()) is None


@pytest.mark.parametrize("task", TASKS)
@settings(max_examples=15, deadline=None)
@given(batch=batches())
def test_the_fast_path_agrees_on_any_batch_the_contract_allows(
    models: dict[str, Any], task: str, batch: list[dict[str, Any]]
) -> None:
    model, fast = models[task]
    assert disagreement(fast, model, batch) is None


@pytest.mark.parametrize("task", TASKS)
def test_a_nudged_constant_is_caught(models: dict[str, Any], task: str) -> None:
    """The check can fail: the scaler's constants moved by one percent change some answer."""
    model, _ = models[task]
    spec = compile_fastpath.derive(model)
    numeric = next(b for b in spec["blocks"] if b["kind"] == "numeric")
    numeric["scale"] = [s * 1.01 for s in numeric["scale"]]
    problem = disagreement(FastPredictor(spec), model, compile_fastpath.contract_rows())
    assert problem is not None and problem.startswith("row "), problem


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda p: p.set_params(estimator=RandomForestRegressor(n_estimators=2)), "estimator RandomForestRegressor"),
        (lambda p: p.named_steps["preprocess"].set_params(numeric__standardscaler=MinMaxScaler()), "MinMaxScaler"),
    ],
    ids=["estimator", "transformer"],
)
def test_a_step_it_does_not_know_makes_the_pipeline_serve(tmp_path: Path, change: Any, named: str) -> None:
    model = fit("regression", rows=80)
    change(model)
    frame = synthetic_frame(80, seed=3)
    model.fit(frame[list(FEATURE_NAMES)], np.arange(80.0))
    entry = compile_fastpath.write(model, compile_fastpath.contract_rows(10), tmp_path / FAST_PATH_FILE)
    assert entry["serving"] == "pipeline"
    assert named in json.loads((tmp_path / FAST_PATH_FILE).read_text())["reason"]


def packaged(folder: Path, model: Any) -> Path:
    """A model folder as `package` leaves it: artifact, fast path, and a record naming both digests."""
    import joblib

    joblib.dump(model, folder / ARTIFACT_FILE)
    entry = compile_fastpath.write(model, compile_fastpath.contract_rows(50), folder / FAST_PATH_FILE)
    record = identity_record(sha256_file(folder / ARTIFACT_FILE), fast_path=entry)
    (folder / LINEAGE_FILE).write_text(json.dumps(record))
    return folder


def test_the_service_serves_the_checked_fast_path(tmp_path: Path, models: dict[str, Any]) -> None:
    folder = packaged(tmp_path, models["regression"][0])
    _, predictor, _, line = load_served(folder)
    assert isinstance(predictor, FastPredictor)
    assert line.startswith("serving the fast path")


def test_a_fast_path_that_is_not_the_recorded_one_does_not_load(tmp_path: Path, models: dict[str, Any]) -> None:
    folder = packaged(tmp_path, models["regression"][0])
    path = folder / FAST_PATH_FILE
    path.write_text(path.read_text().replace('"scale": [', '"scale": [1.5, ', 1))
    with pytest.raises(ArtifactError, match="sha256"):
        load_served(folder)


def test_a_record_without_a_fast_path_serves_the_pipeline(tmp_path: Path, models: dict[str, Any]) -> None:
    folder = packaged(tmp_path, models["regression"][0])
    record = json.loads((folder / LINEAGE_FILE).read_text())
    del record["fast_path"]
    (folder / LINEAGE_FILE).write_text(json.dumps(record))
    model, predictor, _, line = load_served(folder)
    assert predictor is model and "names no fast path" in line
