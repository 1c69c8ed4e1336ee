"""Build the model's identity record (contract/identity.py) from git, DVC, params.yaml and the MLflow run."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..contract import params
from ..contract.artifact import ARTIFACT_FILE, sha256_file
from ..contract.identity import Artifact, FastPath, Lineage, model_version
from ..contract.names import MODEL_NAME, SERVICE_NAME
from . import dvclock

SCHEMA_VERSION = 1


def git_state() -> tuple[str, bool]:
    """The commit the code was trained from, and whether the work tree differed from it."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
    return commit.stdout.strip(), bool(status.stdout.strip())


def bento_tag(artifact_sha256: str) -> str:
    """The Bento is named for the service and versioned by the artifact it serves."""
    return f"{SERVICE_NAME}:{model_version(artifact_sha256)}"


def build(
    *,
    model_path: Path,
    run_id: str,
    metrics: dict[str, Any],
    fast_path: dict[str, str] | None = None,
    decision_threshold: float | None = None,
) -> Lineage:
    commit, dirty = git_state()
    sha = sha256_file(model_path)
    return Lineage(
        schema_version=SCHEMA_VERSION,
        model_name=MODEL_NAME,
        mlflow_run_id=run_id,
        artifact=Artifact(file=ARTIFACT_FILE, sha256=sha),
        bento_tag=bento_tag(sha),
        git_commit=commit,
        git_dirty=dirty,
        data=dvclock.data_hashes(dvclock.read()),
        params_sha256=params.digest(),
        metrics=metrics,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        fast_path=FastPath.model_validate(fast_path) if fast_path else None,  # its digest, and which of the two serves
        decision_threshold=decision_threshold,
    )


def write(record: Lineage, path: Path) -> None:
    """The record as JSON, keys sorted; a field with no value (no fast path, no threshold) is left out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.model_dump(mode="json", exclude_none=True), indent=2, sort_keys=True) + "\n")


def read(path: Path) -> Lineage:
    return Lineage.model_validate_json(path.read_text())
