"""The model's identity record: one JSON document linking git, DVC, MLflow and BentoML.

Written by the `package` stage, stored beside the artifact in the BentoML model, returned by the
service at /metadata, and copied into the pin file of each environment. It names no registry version:
those are numbered by whichever registry the model is registered in (`make register`), after the fact.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..contract import params
from ..contract.artifact import ARTIFACT_FILE, model_version, sha256_file
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
    *, model_path: Path, run_id: str, metrics: dict[str, Any], fast_path: dict[str, str] | None = None
) -> dict[str, Any]:
    commit, dirty = git_state()
    sha = sha256_file(model_path)
    return {
        "schema_version": SCHEMA_VERSION,
        "model_name": MODEL_NAME,
        "mlflow_run_id": run_id,
        "artifact": {"file": ARTIFACT_FILE, "sha256": sha},
        "bento_tag": bento_tag(sha),
        "git_commit": commit,
        "git_dirty": dirty,
        "data": dvclock.data_hashes(dvclock.read()),
        "params_sha256": params.digest(),
        "metrics": metrics,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    } | ({"fast_path": fast_path} if fast_path else {})  # its file's digest, and which of the two serves


def write(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))
