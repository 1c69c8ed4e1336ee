"""The one comparison of a candidate with the model an environment runs: the gates, the report and the
performance stage all ask it.

Git is the source of truth for what runs: the environment's pin names the artifact, fetched through DVC
and checked by its digest. Before anything is pinned, the registry's alias named after the environment
stands in, its artifact fetched from the MLflow run that logged it and checked the same way.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from ..contract.artifact import ARTIFACT_FILE, sha256_file
from ..contract.names import MODEL_NAME
from . import artifacts, pins
from .errors import ReleaseError


@dataclass
class Incumbent:
    """The model an environment runs now, and where that was read."""

    version: str
    source: str
    metrics: dict[str, float]
    sha256: str
    pin: pins.Pin | None = None
    run_id: str | None = None

    def load(self) -> Any:
        if self.pin is not None:
            return artifacts.load(self.pin.source_commit, self.sha256)
        from ..pipeline import tracking

        with tempfile.TemporaryDirectory() as folder:
            path = Path(tracking.start().download_artifacts(self.run_id, f"serving/{ARTIFACT_FILE}", folder))
            if sha256_file(path) != self.sha256:
                raise ReleaseError(f"the artifact of registry version {self.version} does not match its digest")
            return joblib.load(path)


def incumbent(environment: str = "production") -> Incumbent | None:
    """The environment's model: its pin in this checkout, else the registry alias; None before either exists."""
    pin = pins.read(environment)
    if pin is not None:
        m = pin.model
        return Incumbent(m.registry_version, str(pins.path(environment)), m.metrics, m.artifact.sha256, pin=pin)
    import json

    from mlflow.exceptions import MlflowException

    from ..pipeline import tracking

    client = tracking.start()
    try:
        found = client.get_model_version_by_alias(MODEL_NAME, environment)
    except MlflowException:
        return None
    sha = json.loads(found.tags["lineage.artifact"])["sha256"]
    metrics = json.loads(found.tags["lineage.metrics"])
    return Incumbent(str(found.version), f"registry alias {environment!r}", metrics, sha, run_id=found.run_id)


def regressions(ours: dict[str, float], theirs: dict[str, float], thresholds: dict[str, Any]) -> list[str]:
    """The gated metrics on which ours trails theirs by more than `tolerance` (params.yaml's evaluate section)."""
    tolerance = thresholds["tolerance"]
    worse = [n for n in thresholds.get("min") or {} if ours[n] < theirs[n] * (1 - tolerance)]
    worse += [n for n in thresholds.get("max") or {} if ours[n] > theirs[n] * (1 + tolerance)]
    return worse
