"""What a team would write without the template: FastAPI serving the same artifact and contract.

It reuses the baked project's request model and predict function (`<package>.contract`), so the
comparison with the Bento isolates the serving layer: same bytes of model, same validation, same
pandas and scikit-learn work per request. Two ways to run it, both rows of the benchmark:

- competent (`fastapi`): gunicorn with a uvicorn worker per core, OpenMP limited to one thread per
  worker (OMP_NUM_THREADS=1), a sync endpoint (FastAPI runs it in its thread pool):

      BENCH_PACKAGE=penguin_species BENCH_MODEL=models/model.joblib OMP_NUM_THREADS=1 \\
          .venv/bin/python -m gunicorn fastapi_app:app --chdir <this folder> -k uvicorn.workers.UvicornWorker -w 2

- naive (`fastapi-naive`): one uvicorn process, FastAPI's defaults, OpenMP unlimited.
"""

from __future__ import annotations

import importlib
import os

import joblib
from fastapi import FastAPI

messages = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.contract.messages")
predict = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.contract.predict")
model = joblib.load(os.environ["BENCH_MODEL"])
Payload = messages.PredictRequest

app = FastAPI()


@app.post("/predict")
def predict_endpoint(payload: Payload) -> list[messages.Prediction]:  # type: ignore[valid-type]
    return predict.predictions(model, [record.model_dump() for record in payload.records])  # type: ignore[attr-defined]


@app.get("/readyz")
def ready() -> str:
    return "ok"
