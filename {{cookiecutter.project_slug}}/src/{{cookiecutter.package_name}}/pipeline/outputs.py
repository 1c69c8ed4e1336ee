"""Where the DVC stages leave what the later layers read; dvc.yaml names the same paths."""

from __future__ import annotations

from pathlib import Path

from ..contract.artifact import ARTIFACT_FILE, LINEAGE_FILE

MODELS = Path("models")
MODEL = MODELS / ARTIFACT_FILE  # the served artifact
LINEAGE = MODELS / LINEAGE_FILE  # the model's identity record
PREPARED = Path("data/prepared")
TRAINING = PREPARED / "train.csv"
HELD_OUT = PREPARED / "test.csv"
