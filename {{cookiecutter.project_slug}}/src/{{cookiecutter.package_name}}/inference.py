"""The request and response contract and the predict function, shared by every way the model is served.

Derived from schema.py, so a request the contract rejects is refused with the field before the model
sees it. Free of BentoML, MLflow and DVC: the service imports it, and so can anything else that serves
or replays the model (the benchmark's plain FastAPI app, the performance tests).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from .schema import COLUMNS, EXAMPLE_FEATURES, FEATURE_NAMES, TARGET, TASK, allowed_values, to_frame, value_range
from .settings import MAX_BATCH_ROWS


def _field(name: str) -> tuple[Any, Any]:
    column = COLUMNS[name]
    values = allowed_values(name)
    if values is not None:
        kind: Any = Literal[values]
    else:
        low, high = value_range(name) or (None, None)
        kind = Annotated[float, Field(ge=low, le=high, allow_inf_nan=False, strict=True)]
    if column.nullable:
        kind = kind | None
    # Every field is required, even a nullable one: a client states "unknown" with null, never by omission.
    return kind, Field(..., description=column.description, examples=[EXAMPLE_FEATURES[name]])


_record_fields: dict[str, Any] = {name: _field(name) for name in FEATURE_NAMES}
Record = create_model("Record", __config__=ConfigDict(extra="ignore"), **_record_fields)
Records = Annotated[list[Record], Field(min_length=1, max_length=MAX_BATCH_ROWS)]  # type: ignore[valid-type]

_prediction_fields: dict[str, Any] = {"prediction": (float, Field(description=COLUMNS[TARGET].description))}
if TASK == "classification":
    _prediction_fields = {
        "prediction": (Literal[allowed_values(TARGET)], Field(description=COLUMNS[TARGET].description)),
        "probabilities": (dict[str, float], Field(description="Probability of each class")),
    }
Prediction = create_model("Prediction", **_prediction_fields)


def predictions(model: Any, rows: list[dict[str, Any]]) -> list[BaseModel]:
    """The model's answer for each row, in order: shared by the service and the offline comparison."""
    frame = to_frame(rows)
    # model_construct skips validation: these values come from the model, not from a client, and
    # validating a thousand of them again costs as much as the prediction itself.
    if TASK == "classification":
        # One pass: the label is the most probable class, exactly what the classifier's predict() returns.
        probabilities = model.predict_proba(frame)
        classes = [str(c) for c in model.classes_]
        labels = probabilities.argmax(axis=1).tolist()
        return [
            Prediction.model_construct(prediction=classes[label], probabilities=dict(zip(classes, row, strict=True)))
            for label, row in zip(labels, probabilities.tolist(), strict=True)
        ]
    return [Prediction.model_construct(prediction=value) for value in model.predict(frame).tolist()]
