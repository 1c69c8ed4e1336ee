"""The request and response models, derived from the schema: a request they reject never reaches the model.

Free of BentoML, MLflow and DVC: the service imports them, and so can anything else that serves or
replays the model (the template's benchmark, the performance tests).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, create_model

from .schema import CLASSIFICATION, COLUMNS, EXAMPLE_FEATURES, FEATURE_NAMES, TARGET, allowed_values, value_range

# The largest batch one request may carry; a larger one is refused with a 400 before it reaches the model.
MAX_BATCH_ROWS = 1000


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
if CLASSIFICATION:
    _prediction_fields = {
        "prediction": (Literal[allowed_values(TARGET)], Field(description=COLUMNS[TARGET].description)),
        "probabilities": (dict[str, float], Field(description="Probability of each class")),
    }
Prediction = create_model("Prediction", **_prediction_fields)

# The body of POST /predict: {"records": [...]}. The service validates it, and the request log's
# middleware validates a refused one again for the reasons it counts.
PredictRequest = create_model("PredictRequest", records=(Records, ...))
