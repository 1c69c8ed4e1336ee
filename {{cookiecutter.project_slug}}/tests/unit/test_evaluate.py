"""The evaluate stage judges the answers served: the rows go through contract/predict.py, as a request's do."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.contract.schema import CLASSIFICATION, EXAMPLE, TARGET, TASK, allowed_values
from {{ cookiecutter.package_name }}.pipeline import evaluate

CLASSES = [str(c) for c in allowed_values(TARGET) or ()]


class SaysOneThingServesAnother:
    """A model whose own `predict` disagrees with what serving makes of it.

    A classifier's served label comes from its probabilities and decision threshold (the last class
    here, with every probability on it); its `predict` says the first class. A regressor serves `predict`.
    """

    def __init__(self) -> None:
        self.classes_ = np.array(CLASSES, dtype=object)
        self.threshold = 0.5 if TASK == "binary" else None

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        probabilities = np.zeros((len(frame), len(CLASSES)))
        probabilities[:, -1] = 1.0
        return probabilities

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), CLASSES[0], dtype=object) if CLASSIFICATION else np.full(len(frame), 7.0)


def labelled(rows: int) -> pd.DataFrame:
    """The contract's example, `rows` times, labelled with the answer serving gives."""
    frame = pd.DataFrame([EXAMPLE] * rows)
    frame[TARGET] = CLASSES[-1] if CLASSIFICATION else 7.0
    return frame


def test_the_metrics_are_those_of_the_served_answers_not_of_the_models_predict() -> None:
    values, plots = evaluate.score(SaysOneThingServesAnother(), labelled(8))
    served: Any = plots["confusion.csv"]["predicted"] if CLASSIFICATION else plots["residuals.csv"]["predicted"]
    assert set(served.astype(str)) == {CLASSES[-1] if CLASSIFICATION else "7.0"}, served
    assert values["accuracy" if CLASSIFICATION else "rmse"] == (1.0 if CLASSIFICATION else 0.0), values
