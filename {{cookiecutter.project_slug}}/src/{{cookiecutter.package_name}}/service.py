"""The BentoML service: POST /predict, GET /metadata, and BentoML's /livez, /readyz and /metrics.

Request and response models are derived from schema.py, so a request the contract rejects gets a 400
naming the field before the model sees it. The artifact is checked against its lineage record before
any worker starts; a mismatch stops the server with one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import bentoml
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .artifact import ArtifactError, load_verified, read_verified
from .schema import COLUMNS, EXAMPLE_FEATURES, FEATURE_NAMES, TARGET, TASK, allowed_values, to_frame, value_range
from .settings import MAX_BATCH_ROWS, MODEL_NAME, MODEL_TAG_VARIABLE, SERVICE_NAME


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
    if TASK == "classification":
        # One pass: the label is the most probable class, exactly what the classifier's predict() returns.
        probabilities = model.predict_proba(frame)
        classes = [str(c) for c in model.classes_]
        return [
            Prediction(prediction=classes[p.argmax()], probabilities=dict(zip(classes, p.tolist(), strict=True)))
            for p in probabilities
        ]
    return [Prediction(prediction=value) for value in model.predict(frame).tolist()]


# A class attribute of the service, so `bentoml build` packs this model into the Bento: the exact
# version the build names (bento.py sets BENTO_MODEL_TAG), or the latest one in development.
BENTO_MODEL = bentoml.models.BentoModel(os.environ.get(MODEL_TAG_VARIABLE) or f"{MODEL_NAME}:latest")


def packed_model() -> Path:
    """The folder of the model this service serves: the exact one its Bento records.

    Several versions share a local BentoML store, so a built Bento must not ask for "latest".
    """
    bento = getattr(PredictionService, "bento", None)  # set by BentoML when it serves a built Bento
    tag = next(m.tag for s in bento.info.services for m in s.models) if bento else BENTO_MODEL.tag
    return Path(bentoml.models.get(tag).path)


async def metadata(request: Request) -> JSONResponse:
    return JSONResponse(bentoml.get_current_service().lineage)


@bentoml.asgi_app(Starlette(routes=[Route("/metadata", metadata, methods=["GET"])]), path="/")
@bentoml.service(name=SERVICE_NAME, traffic={"timeout": 30})
class PredictionService:
    bento_model = BENTO_MODEL

    @bentoml.on_deployment
    def verify_artifact() -> None:
        """Runs once, before any worker: fail closed, with one line, if the artifact is not the recorded one."""
        try:
            read_verified(packed_model())
        except ArtifactError as error:
            raise SystemExit(f"refusing to start: {error}") from None

    def __init__(self) -> None:
        self.model, self.lineage = load_verified(packed_model())

    @bentoml.api
    def predict(self, records: Records) -> list[Prediction]:  # type: ignore[valid-type]
        return predictions(self.model, [record.model_dump() for record in records])  # type: ignore[attr-defined]
