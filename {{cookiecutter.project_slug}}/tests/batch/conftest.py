"""The packaged model, input files made from the held-out data, and the scoring commands run as cron would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE, load_verified
from {{ cookiecutter.package_name }}.pipeline.outputs import HELD_OUT, MODELS
from tests.conftest import ROOT, need

PACKAGE = load_verified.__module__.split(".")[0]

# Three rows broken three ways, each refused with its column and reason.
BROKEN = {
    1: ("bill_length_mm", "abc", "coerce_dtype"),
    3: ("island", "Atlantis", "isin"),
    5: ("body_mass_g", "99999", "in_range"),
}


@pytest.fixture(scope="session")
def models() -> Path:
    need(ROOT / MODELS / "lineage.json", "make repro")
    return ROOT / MODELS


@pytest.fixture(scope="session")
def held_out() -> pd.DataFrame:
    return pd.read_csv(need(ROOT / HELD_OUT, "make repro"))


@pytest.fixture(scope="session")
def broken(held_out: pd.DataFrame) -> pd.DataFrame:
    """The held-out rows as text, three of them broken (BROKEN)."""
    frame = held_out.astype(str).where(held_out.notna(), None)
    for row, (column, value, _) in BROKEN.items():
        frame.loc[row, column] = value
    return frame


# One OpenMP thread per scoring process: on a shared machine the model's threads otherwise contend.
ENV = os.environ | {"OMP_NUM_THREADS": "1"}


def score(
    *args: str | Path, command: str = "score", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m <package> score …` in the project, as `make score` runs it."""
    cmd = [sys.executable, "-m", PACKAGE, command, *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env or ENV)


def tampered(models: Path, folder: Path) -> Path:
    """A copy of the model folder whose artifact has one byte changed, its lineage record untouched."""
    shutil.copytree(models, folder)
    artifact = folder / ARTIFACT_FILE
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    return folder
