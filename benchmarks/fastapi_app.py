"""What a team would write without the template: FastAPI + uvicorn serving the same artifact.

It reuses the baked project's request model and predict function (`<package>.contract`), so the
comparison with the Bento isolates the serving layer: same bytes of model, same validation, same
pandas and scikit-learn work per request. Run by the benchmark with the baked project's interpreter:

    BENCH_PACKAGE=penguin_species BENCH_MODEL=models/model.joblib \
        .venv/bin/python -m uvicorn fastapi_app:app --app-dir <this folder> --port 8000
"""

from __future__ import annotations

import importlib
import os

import joblib
from fastapi import FastAPI
from pydantic import create_model

messages = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.contract.messages")
predict = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.contract.predict")
model = joblib.load(os.environ["BENCH_MODEL"])
Payload = create_model("Payload", records=(messages.Records, ...))

app = FastAPI()


@app.post("/predict")
def predict_endpoint(payload: Payload) -> list[messages.Prediction]:  # type: ignore[valid-type]
    return predict.predictions(model, [record.model_dump() for record in payload.records])  # type: ignore[attr-defined]


@app.get("/readyz")
def ready() -> str:
    return "ok"
