"""Properties of the model pipeline, over records drawn from the input contract."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from hypothesis import given, settings

from {{ cookiecutter.package_name }}.contract.identity import Lineage
from {{ cookiecutter.package_name }}.contract.messages import Record
from {{ cookiecutter.package_name }}.contract.schema import TARGET, to_frame
from {{ cookiecutter.package_name }}.pipeline import features, lineage
from {{ cookiecutter.package_name }}.pipeline.prepare import split
from {{ cookiecutter.package_name }}.pipeline.train import fit
from tests.conftest import identity_record
from tests.strategies import batches, records, synthetic_frame

PARAMS = {
    "seed": 0,
    "learning_rate": 0.1,
    "max_iter": 20,
    "max_leaf_nodes": 7,
    "l2_regularization": 0.0,
    "decision_threshold": 0.5,
}


@pytest.fixture(scope="module")
def model() -> features.Model:
    train, _ = split(synthetic_frame(), test_size=0.25, seed=0)
    return fit(train, PARAMS)


def test_split_keeps_every_labelled_row_once() -> None:
    frame = synthetic_frame()
    frame.loc[:9, TARGET] = None
    train, test = split(frame, test_size=0.25, seed=0)
    assert len(train) + len(test) == len(frame) - 10
    assert not set(train.index) & set(test.index)


@settings(max_examples=60, deadline=None)
@given(batch=batches())
def test_preprocessing_emits_only_finite_numbers(model: features.Model, batch: list[dict[str, Any]]) -> None:
    transformed = features.pipeline_of(model).named_steps["preprocess"].transform(to_frame(batch))
    assert np.isfinite(np.asarray(transformed, dtype=float)).all()


@settings(max_examples=40, deadline=None)
@given(batch=batches())
def test_a_prediction_depends_on_its_row_alone(model: features.Model, batch: list[dict[str, Any]]) -> None:
    together = list(model.predict(to_frame(batch)))
    reversed_order = list(model.predict(to_frame(batch[::-1])))[::-1]
    alone = [model.predict(to_frame([row]))[0] for row in batch]
    assert together == reversed_order == alone


@settings(max_examples=20, deadline=None)
@given(batch=batches(max_size=5))
def test_the_pickled_model_predicts_the_same(model: features.Model, batch: list[dict[str, Any]]) -> None:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    frame = to_frame(batch)
    assert list(joblib.load(buffer).predict(frame)) == list(model.predict(frame))


@given(record=records())
def test_a_request_record_round_trips_through_json(record: dict[str, Any]) -> None:
    parsed = Record.model_validate_json(json.dumps(record))
    assert parsed.model_dump() == record


def test_the_lineage_record_round_trips(tmp_path: Path) -> None:
    record = Lineage.model_validate(identity_record("0" * 64, decision_threshold=0.35))
    lineage.write(record, tmp_path / "lineage.json")
    assert lineage.read(tmp_path / "lineage.json") == record
