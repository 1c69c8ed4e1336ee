"""A pinned model's artifact, fetched through DVC at the commit that recorded it, and checked by its digest."""

from __future__ import annotations

import io
from typing import Any

import joblib

from ..contract.artifact import sha256_bytes
from .errors import ReleaseError

ARTIFACT = "models/model.joblib"


def fetch_verified(source_commit: str, sha256: str) -> bytes:
    """The served artifact as DVC recorded it at that commit (local cache or DVC remote), digest checked."""
    import dvc.api

    try:
        data: bytes = dvc.api.read(ARTIFACT, rev=source_commit, mode="rb")
    except Exception as error:
        raise ReleaseError(f"{ARTIFACT} at {source_commit[:12]} cannot be retrieved: {error}") from None
    if sha256_bytes(data) != sha256:
        raise ReleaseError(f"{ARTIFACT} at {source_commit[:12]} does not match its recorded sha256 {sha256[:12]}…")
    return data


def load(source_commit: str, sha256: str) -> Any:
    """The model, unpickled from exactly the bytes that were verified."""
    return joblib.load(io.BytesIO(fetch_verified(source_commit, sha256)))
