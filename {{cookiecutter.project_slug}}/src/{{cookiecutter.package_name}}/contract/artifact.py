"""The artifact contract: what a model folder holds, and the check every reader applies before trusting it.

The pipeline writes the folder, the service, the Bento build and the release code read it; each loads
only bytes whose sha256 is the one the lineage record names. Light: no MLflow, no DVC.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .identity import Lineage

# Inside a model folder (models/, a BentoML model): the file that is served and the record of what it is.
ARTIFACT_FILE = "model.joblib"
LINEAGE_FILE = "lineage.json"


class ArtifactError(Exception):
    """The model folder cannot be served as it is; the message says why in one line."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def read_lineage(folder: Path) -> Lineage:
    path = folder / LINEAGE_FILE
    try:
        return Lineage.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ArtifactError(f"no lineage record at {path}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in error.errors())
        raise ArtifactError(f"lineage record {path} is unreadable: {problems}") from None


def read_verified(folder: Path) -> tuple[bytes, Lineage]:
    """The artifact's bytes and its lineage record, after checking the bytes against the record."""
    lineage = read_lineage(folder)
    path = folder / ARTIFACT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"model artifact {path} is missing") from None
    actual, expected = sha256_bytes(data), lineage.artifact.sha256
    if actual != expected:
        raise ArtifactError(f"model artifact {path} has sha256 {actual[:12]}…, lineage says {expected[:12]}…")
    return data, lineage


def load_verified(folder: Path) -> tuple[Any, Lineage]:
    """Unpickle exactly the bytes that were verified, so nothing can change between check and load."""
    import joblib  # here, so that naming the artifact's files costs the command line no import

    data, lineage = read_verified(folder)
    try:
        model = joblib.load(io.BytesIO(data))
    except Exception as error:
        raise ArtifactError(f"model artifact in {folder} cannot be loaded ({error.__class__.__name__})") from None
    return model, lineage
