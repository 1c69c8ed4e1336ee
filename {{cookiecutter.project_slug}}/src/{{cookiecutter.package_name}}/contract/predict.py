"""The model's answer to records, in the response contract's shape: one function for every way of serving."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .messages import Prediction
from .schema import CLASSIFICATION, to_frame


def predictions(model: Any, rows: list[dict[str, Any]]) -> list[BaseModel]:
    """The model's answer for each row, in order: shared by the service and the offline comparison."""
    frame = to_frame(rows)
    # model_construct skips validation: these values come from the model, not from a client, and
    # validating a thousand of them again costs as much as the prediction itself.
    if CLASSIFICATION:
        # One pass: the label is the most probable class, exactly what the classifier's predict() returns.
        probabilities = model.predict_proba(frame)
        classes = [str(c) for c in model.classes_]
        # A binary model carries its decision threshold (params.yaml): the label is what its predict() says.
        threshold = getattr(model, "threshold", None)
        if threshold is not None:
            labels = (probabilities[:, 1] >= threshold).astype(int).tolist()
        else:
            labels = probabilities.argmax(axis=1).tolist()
        return [
            Prediction.model_construct(prediction=classes[label], probabilities=dict(zip(classes, row, strict=True)))
            for label, row in zip(labels, probabilities.tolist(), strict=True)
        ]
    return [Prediction.model_construct(prediction=value) for value in model.predict(frame).tolist()]
