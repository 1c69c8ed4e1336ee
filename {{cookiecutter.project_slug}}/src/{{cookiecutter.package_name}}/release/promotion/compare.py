"""The one comparison of a candidate with the model an environment runs: the gates, the report and the
performance stage all ask it.

Both models are scored on the same held-out rows, and only on rows neither of them trained on: an older
model may have learned from rows that today's split holds out (new data, another seed), and scoring it
on those would flatter it. What runs is what git says: the environment's pin names the artifact and the
commit whose training data it learned from, both fetched through DVC. Before anything is pinned, the
registry's alias named after the environment stands in; its training rows are then unknown, which the
comparison says.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from ...contract.artifact import ARTIFACT_FILE, sha256_file
from ...contract.identity import model_version
from ...contract.names import MODEL_NAME
from ...contract.schema import FEATURE_NAMES, TARGET
from ...pipeline.evaluate import score
from ..adapters import dvc_fetch
from ..environments import LAST
from ..errors import ReleaseError
from . import pins

# Fewer rows than this, unseen by both models, say too little to call one of them better.
MIN_ROWS = 30


@dataclass
class Incumbent:
    """The model an environment runs now, and where that was read."""

    version: str
    source: str
    metrics: dict[str, float]
    sha256: str
    source_commit: str | None = None  # the commit whose dvc.lock names its artifact and training data
    run_id: str | None = None

    def load(self) -> Any:
        if self.source_commit is not None:
            return dvc_fetch.load(self.source_commit, self.sha256)
        from ...pipeline import tracking

        if self.run_id is None:
            raise ReleaseError(f"{self.source} names no MLflow run to fetch its artifact from")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(tracking.start().download_artifacts(self.run_id, f"serving/{ARTIFACT_FILE}", folder))
            if sha256_file(path) != self.sha256:
                raise ReleaseError(f"the artifact of {self.source} does not match its digest")
            return joblib.load(path)

    def training_rows(self) -> pd.DataFrame | None:
        if self.source_commit is None:
            return None
        return pd.read_csv(io.BytesIO(dvc_fetch.read(dvc_fetch.TRAINING_DATA, self.source_commit)))


def from_pin(pin: pins.Pin, source: str) -> Incumbent:
    m = pin.model
    return Incumbent(m.version, source, m.metrics, m.artifact.sha256, source_commit=pin.source_commit)


def incumbent(environment: str = LAST) -> Incumbent | None:
    """The environment's model: its pin in this checkout, else the registry alias; None before either exists."""
    pin = pins.read(environment)
    if pin is not None:
        return from_pin(pin, str(pins.path(environment)))
    from mlflow.exceptions import MlflowException

    from ...pipeline import tracking

    try:
        found = tracking.start().get_model_version_by_alias(MODEL_NAME, environment)
    except MlflowException:
        return None
    sha = json.loads(found.tags["lineage.artifact"])["sha256"]
    metrics = json.loads(found.tags["lineage.metrics"])
    where = f"registry version {found.version}, alias {environment!r}"
    return Incumbent(model_version(sha), where, metrics, sha, run_id=found.run_id)


def unseen(held_out: pd.DataFrame, *trained_on: pd.DataFrame) -> pd.DataFrame:
    """The held-out rows that appear in none of the training sets (equal in every column of the contract)."""
    columns = [*FEATURE_NAMES, TARGET]
    seen = pd.concat([frame[columns] for frame in trained_on]).drop_duplicates() if trained_on else None
    if seen is None or seen.empty:
        return held_out
    merged = held_out[columns].merge(seen, on=columns, how="left", indicator=True)
    return held_out[(merged["_merge"] == "left_only").to_numpy()]


def regressions(ours: dict[str, float], theirs: dict[str, float], thresholds: dict[str, Any]) -> list[str]:
    """The gated metrics on which ours trails theirs by more than `tolerance` (params.yaml's evaluate section)."""
    tolerance = thresholds["tolerance"]
    worse = [n for n in thresholds.get("min") or {} if ours[n] < theirs[n] * (1 - tolerance)]
    worse += [n for n in thresholds.get("max") or {} if ours[n] > theirs[n] * (1 + tolerance)]
    return worse


@dataclass
class Comparison:
    against: str  # "version 1a2b3c4d5e6f (deploy/environments/production.yaml)"
    rows: int
    basis: str  # which rows were scored, in words
    ours: dict[str, float]
    theirs: dict[str, float]
    worse: list[str]


def compare(
    candidate: Any, trained_on: pd.DataFrame, current: Incumbent, held_out: pd.DataFrame, thresholds: dict[str, Any]
) -> Comparison:
    """Score both models on the held-out rows neither trained on; name the gated metrics where ours is worse."""
    theirs_trained_on = current.training_rows()
    known = [trained_on] + ([] if theirs_trained_on is None else [theirs_trained_on])
    rows = unseen(held_out, *known)
    if len(rows) < MIN_ROWS:
        raise ReleaseError(
            f"only {len(rows)} held-out rows are unseen by both models (at least {MIN_ROWS} needed): "
            "the two were trained on different splits; compare on newer held-out data"
        )
    basis = f"{len(rows)} of {len(held_out)} held-out rows, " + (
        "none of which either model trained on"
        if theirs_trained_on is not None
        else f"none of which the candidate trained on (the training rows of {current.source} are unknown)"
    )
    ours, theirs = score(candidate, rows)[0], score(current.load(), rows)[0]
    against = f"version {current.version} ({current.source})"
    return Comparison(against, len(rows), basis, ours, theirs, regressions(ours, theirs, thresholds))
