"""The model's answer to records, in the response contract's shape: one function for every way of serving."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from .messages import Prediction
from .schema import CLASSIFICATION, to_frame


def predictions(model: Any, rows: list[dict[str, Any]]) -> list[BaseModel]:
    """The model's answer for each row, in order: shared by the service and the offline comparison."""
    # The fast predictor reads the rows themselves (it says so: contract/fastpath.py); the pipeline, a DataFrame.
    frame = rows if getattr(model, "reads_records", False) else to_frame(rows)
    # model_construct skips validation: these values come from the model, not from a client, and
    # validating a thousand of them again costs as much as the prediction itself.
    if CLASSIFICATION:
        classes, probabilities, labels = _classify(model, frame)
        return [
            Prediction.model_construct(prediction=classes[label], probabilities=dict(zip(classes, row, strict=True)))
            for label, row in zip(labels.tolist(), probabilities.tolist(), strict=True)
        ]
    return [Prediction.model_construct(prediction=value) for value in model.predict(frame).tolist()]


def _classify(model: Any, frame: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    # One pass: the label is what the classifier's predict() returns, from the probabilities it gives.
    probabilities = model.predict_proba(frame)
    return [str(c) for c in model.classes_], probabilities, labels(model, probabilities)


def labels(model: Any, probabilities: np.ndarray) -> np.ndarray:
    """Each row's class index: a binary model carries its decision threshold (params.yaml); otherwise the
    most probable class."""
    threshold = getattr(model, "threshold", None)
    return (probabilities[:, 1] >= threshold).astype(int) if threshold is not None else probabilities.argmax(axis=1)


def table(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The same answers as columns, for a frame already in the contract's types (batch scoring):
    `prediction`, and `probability_<class>` for each class of a classifier."""
    if not CLASSIFICATION:
        values = model.predict(frame) if len(frame) else np.empty(0)  # sklearn refuses zero rows
        return pd.DataFrame({"prediction": values.astype("float64")})
    if len(frame):
        classes, probabilities, labels = _classify(model, frame)
    else:
        classes = [str(c) for c in model.classes_]
        probabilities, labels = np.empty((0, len(classes))), np.empty(0, dtype="int64")
    columns: dict[str, Any] = {"prediction": np.asarray(classes, dtype=object)[labels]}
    columns |= {f"probability_{c}": probabilities[:, i] for i, c in enumerate(classes)}
    return pd.DataFrame(columns)
