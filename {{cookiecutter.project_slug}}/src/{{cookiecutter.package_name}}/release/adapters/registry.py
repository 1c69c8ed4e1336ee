"""The MLflow model registry: version numbers and environment aliases, a mirror of what git records.

The registry is the one MLFLOW_TRACKING_URI names (pipeline/tracking.py): a team's tracking server, or
the embedded sqlite file on one laptop. A model is registered once per artifact digest, from the MLflow
run that trained it, so it can be registered only where that run was logged. Its number is the
registry's label for it; the model's identity everywhere else is its digest (contract/artifact.py).
Registering the same digest twice returns the first version; two clients racing on the same new digest
may both create one, and `find` then answers with the lower number.
"""

from __future__ import annotations

import json

from ...contract.identity import Lineage
from ...pipeline import outputs, tracking
from ..errors import ReleaseError

DIGEST_TAG = "artifact_sha256"


def find(lineage: Lineage) -> str | None:
    """The registry version of this artifact, if it was registered here."""
    query = f"name='{lineage.model_name}' and tags.{DIGEST_TAG}='{lineage.artifact.sha256}'"
    versions = tracking.start().search_model_versions(query)
    return str(min(int(v.version) for v in versions)) if versions else None


def register(lineage: Lineage) -> str:
    """Register the model (once per digest) from the run that trained it; return its registry version."""
    from mlflow.exceptions import MlflowException

    found = find(lineage)
    if found is not None:
        return found
    client = tracking.start()
    try:
        client.get_run(lineage.mlflow_run_id)
    except MlflowException:
        raise ReleaseError(
            f"MLflow run {lineage.mlflow_run_id} is not in {tracking.shown_uri()}: the model was trained against "
            "another tracking store; set MLFLOW_TRACKING_URI to the team's server before `make repro`"
        ) from None
    import mlflow

    tags = {DIGEST_TAG: lineage.artifact.sha256}
    for key, value in lineage.model_dump(mode="json").items():
        tags[f"lineage.{key}"] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    created = mlflow.register_model(f"runs:/{lineage.mlflow_run_id}/model", lineage.model_name, tags=tags)
    return str(created.version)


def set_alias(environment: str, lineage: Lineage) -> str:
    """Register the model if need be and point the alias named after the environment at it."""
    version = register(lineage)
    tracking.start().set_registered_model_alias(lineage.model_name, environment, version)
    return version


def register_command() -> None:
    """`register`: register the model this commit packaged (models/lineage.json) and print its version."""
    if not outputs.LINEAGE.exists():
        raise ReleaseError(f"no {outputs.LINEAGE}: run `make repro` first")
    lineage = Lineage.model_validate_json(outputs.LINEAGE.read_text())
    version = register(lineage)
    where = tracking.shown_uri()
    print(f"register: {lineage.model_name} {lineage.version} is registry version {version} in {where}")
