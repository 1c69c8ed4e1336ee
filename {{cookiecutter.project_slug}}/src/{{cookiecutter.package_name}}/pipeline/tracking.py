"""MLflow set-up shared by the training stages and the release records: one experiment per project.

The tracking URI is MLFLOW_TRACKING_URI when set, else the embedded sqlite file (contract/names.py),
whose artifacts stay in the repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from ..contract.names import DEFAULT_TRACKING_URI, SERVICE_NAME

LOCAL_ARTIFACTS = Path("mlartifacts")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)


def start() -> MlflowClient:
    """Point MLflow at the project's tracking URI and experiment; return a client for the registry."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient()
    if client.get_experiment_by_name(SERVICE_NAME) is None:
        # A tracking server decides where artifacts go; an embedded sqlite store keeps them in the repository.
        location = LOCAL_ARTIFACTS.resolve().as_uri() if uri.startswith("sqlite:") else None
        client.create_experiment(SERVICE_NAME, artifact_location=location)
    mlflow.set_experiment(SERVICE_NAME)
    return client


def log_metrics(run_id: str, values: dict[str, float]) -> None:
    start()
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(values)


def register(model_uri: str, name: str) -> str:
    """Register a logged model as a new version of `name`; return the version number."""
    start()
    version = mlflow.register_model(model_uri, name)
    return str(version.version)


def tag_version(name: str, version: str, record: dict[str, object]) -> None:
    """Copy the lineage onto the registered version, so the registry tells what git and DVC tell."""
    client = start()
    for key, value in record.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        client.set_model_version_tag(name, version, f"lineage.{key}", text)
