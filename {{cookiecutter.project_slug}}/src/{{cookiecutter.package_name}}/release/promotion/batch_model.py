"""The scoring commands with a choice of model: this commit's (models/), or the one an environment's pin names.

The batch layer scores whatever verified model folder it is given; choosing the pin and fetching its
artifact through DVC is release's work, so it happens here and batch never reads a pin.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...batch import score, spark
from ...contract.artifact import ARTIFACT_FILE, LINEAGE_FILE
from ..adapters import dvc_fetch
from . import pins


@contextmanager
def model_folder(models: Path, env: str | None) -> Iterator[Path]:
    """`models` itself, or a temporary folder holding the pinned artifact (digest checked) and its record."""
    if env is None:
        yield models
        return
    pin = pins.read(env)
    if pin is None:
        raise pins.PinError(f"nothing is pinned in {env}: `make promote ENV={env}` proposes a model")
    data = dvc_fetch.fetch_verified(pin.source_commit, pin.model.artifact.sha256)
    with tempfile.TemporaryDirectory(prefix=f"score-{env}-") as folder:
        (Path(folder) / ARTIFACT_FILE).write_bytes(data)
        (Path(folder) / LINEAGE_FILE).write_text(json.dumps(pin.model.model_dump(mode="json"), indent=2))
        yield Path(folder)


def score_command(*, models: Path, env: str | None, **arguments: Any) -> int:
    with model_folder(models, env) as folder:
        return score.score(models=folder, **arguments)


def score_spark_command(*, models: Path, env: str | None, **arguments: Any) -> int:
    with model_folder(models, env) as folder:
        return spark.score_spark(models=folder, **arguments)
