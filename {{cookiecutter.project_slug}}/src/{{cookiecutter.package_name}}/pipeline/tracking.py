"""MLflow set-up shared by the training stages and the release records: one experiment per project.

The tracking URI is MLFLOW_TRACKING_URI when set, else the embedded sqlite file (contract/names.py),
whose artifacts stay in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import mlflow
from mlflow.tracking import MlflowClient

from ..contract.names import DEFAULT_TRACKING_URI, SERVICE_NAME

LOCAL_ARTIFACTS = Path("mlartifacts")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI  # unset or empty (an unset CI variable)


def shown_uri() -> str:
    """The tracking URI for logs and messages: without any user or password it carries."""
    uri = tracking_uri()
    parts = urlsplit(uri)
    if not (parts.username or parts.password):
        return uri  # as given: urlsplit would fold sqlite:////abs/path
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


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
