"""The `train` stage: fit the pipeline, save the served artifact, profile the training data, log the run to MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from ..contract import drift, params
from ..contract.schema import FEATURE_NAMES, TARGET, TRAINING
from . import features
from .prepare import TRAIN_FILE

# MLflow stores sklearn models with skops, which loads only the types it is told to trust: the ones of
# the model this stage fits.
TRUSTED_TYPES = ["numpy.dtype", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def fit(frame: pd.DataFrame, params: dict[str, Any]) -> features.Model:
    frame = TRAINING.validate(frame)
    pipeline = features.model(params)
    pipeline.fit(frame[list(FEATURE_NAMES)], frame[TARGET])
    return pipeline


def log_run(pipeline: features.Model, frame: pd.DataFrame, params: dict[str, Any], model_path: Path) -> dict[str, str]:
    """The MLflow run of this fit: params, the model with its signature, and the exact bytes that are served."""
    import mlflow
    from mlflow.models import infer_signature

    from . import tracking  # MLflow loads in about a second: only the stage itself pays for it

    tracking.start()
    example = TRAINING.validate(frame)[list(FEATURE_NAMES)].head(5)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        mlflow.log_param("training_rows", len(frame))
        logged = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(example, pipeline.predict(example)),
            input_example=example,
            skops_trusted_types=TRUSTED_TYPES,
        )
        # The exact bytes the service loads, so the registry can hand back what was served.
        mlflow.log_artifact(str(model_path), artifact_path="serving")
    return {"run_id": run.info.run_id, "model_uri": logged.model_uri}


def train(
    *, data: Path, model_path: Path, run_path: Path, profile_path: Path, params: dict[str, Any], bins: int
) -> None:
    frame = pd.read_csv(data / TRAIN_FILE)
    pipeline = fit(frame, params)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, model_path)
    drift.write_profile(frame, bins, profile_path)  # the reference later data is checked against
    record = log_run(pipeline, frame, params, model_path)
    run_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"train: fitted on {len(frame)} rows -> {model_path} (MLflow run {record['run_id']})")


def main(*, data: Path, model: Path, run: Path, profile: Path) -> None:
    train(
        data=data,
        model_path=model,
        run_path=run,
        profile_path=profile,
        params=params.load("train"),
        bins=params.load("drift")["bins"],
    )
