"""The pipeline trains on the example data and answers for any record the contract allows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.data import split
from {{ cookiecutter.package_name }}.schema import EXAMPLE_FEATURES, FEATURE_NAMES, TARGET, to_frame
from {{ cookiecutter.package_name }}.train import fit

PARAMS = {"seed": 0, "learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 7, "l2_regularization": 0.0}


@pytest.fixture(scope="module")
def model(raw: pd.DataFrame) -> Pipeline:
    train, _ = split(raw, test_size=0.25, seed=0)
    return fit(train, PARAMS)


def test_split_keeps_every_labelled_row_once(raw: pd.DataFrame) -> None:
    train, test = split(raw, test_size=0.25, seed=0)
    assert len(train) + len(test) == raw[TARGET].notna().sum()
    assert not set(train.index) & set(test.index)


def test_preprocessing_emits_only_finite_numbers_even_for_an_empty_record(model: Pipeline) -> None:
    rows = to_frame([EXAMPLE_FEATURES, dict.fromkeys(FEATURE_NAMES)])
    transformed = model.named_steps["preprocess"].transform(rows)
    assert np.isfinite(np.asarray(transformed, dtype=float)).all()


def test_a_prediction_does_not_depend_on_the_rest_of_the_batch(model: Pipeline, raw: pd.DataFrame) -> None:
    rows = raw[list(FEATURE_NAMES)].head(8).to_dict("records")
    alone = [model.predict(to_frame([row]))[0] for row in rows]
    together = list(model.predict(to_frame(rows[::-1])))[::-1]
    assert alone == together
