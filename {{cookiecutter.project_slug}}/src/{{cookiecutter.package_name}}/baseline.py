"""The model production runs now, to compare a candidate with.

Git is the source of truth: the production pin file, when there is one, names the registry version
and the artifact's digest. Before anything is pinned, the registry's `production` alias stands in.
The artifact is fetched from the MLflow run that produced it and checked against the digest.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import yaml

from . import tracking
from .artifact import sha256_file
from .settings import ARTIFACT_FILE, MODEL_NAME

PRODUCTION_PIN = Path("deploy/environments/production.yaml")
ALIAS = "production"


@dataclass
class Baseline:
    version: str
    source: str
    model: Any


def production() -> Baseline | None:
    from mlflow.exceptions import MlflowException

    client = tracking.start()
    if PRODUCTION_PIN.exists():
        pin = yaml.safe_load(PRODUCTION_PIN.read_text())
        version, expected, source = str(pin["registry_version"]), pin["artifact"]["sha256"], str(PRODUCTION_PIN)
    else:
        try:
            found = client.get_model_version_by_alias(MODEL_NAME, ALIAS)
        except MlflowException:
            return None  # nothing has reached production yet
        version, source = str(found.version), f"registry alias {ALIAS!r}"
        expected = yaml.safe_load(found.tags["lineage.artifact"])["sha256"]
    run_id = client.get_model_version(MODEL_NAME, version).run_id
    if run_id is None:
        raise SystemExit(f"error: registry version {version} of {MODEL_NAME} has no run to fetch its artifact from")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(client.download_artifacts(run_id, f"serving/{ARTIFACT_FILE}", folder))
        if sha256_file(path) != expected:
            raise SystemExit(f"error: the production artifact (version {version}) does not match its digest")
        return Baseline(version=version, source=source, model=joblib.load(path))
