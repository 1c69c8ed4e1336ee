"""The Bento of what a pin names: its artifact (and its shadow's) fetched through DVC, digests checked, built."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ...contract.artifact import ARTIFACT_FILE, LINEAGE_FILE
from ...contract.identity import Lineage
from ..adapters.dvc_fetch import fetch_verified
from ..adapters.dvc_fetch import read as fetch
from ..promotion import pins


def build_pinned(pin: pins.Pin) -> str:
    """Fetch the pinned artifact (and its shadow's) through DVC, check the digests, and build the Bento."""
    from ...serving.bento import build

    def fetched(source_commit: str, model: Lineage, folder: Path) -> Path:
        folder.mkdir()
        (folder / ARTIFACT_FILE).write_bytes(fetch_verified(source_commit, model.artifact.sha256))
        (folder / LINEAGE_FILE).write_text(
            json.dumps(model.model_dump(mode="json", exclude_none=True), indent=2, sort_keys=True)
        )
        if model.fast_path:  # the service checks its digest against the record, and it against the model
            (folder / model.fast_path.file).write_bytes(fetch(f"models/{model.fast_path.file}", source_commit))
        return folder

    with tempfile.TemporaryDirectory() as folder:
        shadow = None
        if pin.shadow is not None:
            shadow = fetched(pin.shadow.source_commit, pin.shadow.model, Path(folder) / "shadow")
        return build(fetched(pin.source_commit, pin.model, Path(folder) / "model"), shadow)
