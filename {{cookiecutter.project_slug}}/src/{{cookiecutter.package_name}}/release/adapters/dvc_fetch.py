"""What a pin's commit recorded, fetched through DVC (local cache or remote): its artifact, digest checked,
and the data its model trained on."""

from __future__ import annotations

import io
from typing import Any

import joblib

from ...contract.artifact import sha256_bytes
from ...pipeline.outputs import MODEL, TRAINING
from ..errors import ReleaseError

ARTIFACT = str(MODEL)
TRAINING_DATA = str(TRAINING)


def read(path: str, rev: str) -> bytes:
    """A file DVC tracks, as it was at a commit."""
    import dvc.api

    try:
        data: bytes = dvc.api.read(path, rev=rev, mode="rb")
    except Exception as error:
        raise ReleaseError(f"{path} at {rev[:12]} cannot be retrieved: {error}") from None
    return data


def fetch_verified(source_commit: str, sha256: str) -> bytes:
    """The served artifact as DVC recorded it at that commit, digest checked."""
    data = read(ARTIFACT, source_commit)
    if sha256_bytes(data) != sha256:
        raise ReleaseError(f"{ARTIFACT} at {source_commit[:12]} does not match its recorded sha256 {sha256[:12]}…")
    return data


def load(source_commit: str, sha256: str) -> Any:
    """The model, unpickled from exactly the bytes that were verified."""
    return joblib.load(io.BytesIO(fetch_verified(source_commit, sha256)))
