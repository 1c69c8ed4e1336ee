"""The `prepare` stage: read the raw data and split it into training and held-out sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ..contract import params
from ..contract.dataset import DATASET
from ..contract.schema import CLASSIFICATION, TARGET
from .outputs import HELD_OUT, TRAINING

TRAIN_FILE = TRAINING.name
TEST_FILE = HELD_OUT.name


PARQUET = {".parquet", ".pq"}
RAW_SUFFIXES = {".csv"} | PARQUET  # what `make adopt` takes into data/raw/


def read(path: Path) -> pd.DataFrame:
    """The raw table: Parquet by its suffix, CSV otherwise."""
    return pd.read_parquet(path) if path.suffix.lower() in PARQUET else pd.read_csv(path)


def raw_tables(folder: Path) -> list[Path]:
    """The tables in a folder, CSV and Parquet alike (the data stage checks each of data/raw/'s)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in RAW_SUFFIXES) if folder.is_dir() else []


def split(frame: pd.DataFrame, *, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop rows with no target (nothing to learn from), then split; stratified for classification."""
    labelled = frame.dropna(subset=[TARGET])
    stratify = labelled[TARGET] if CLASSIFICATION else None
    train, test = train_test_split(labelled, test_size=test_size, random_state=seed, stratify=stratify)
    return train, test


def prepare(*, raw: Path, out: Path, test_size: float, seed: int) -> None:
    train, test = split(read(raw), test_size=test_size, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    train.to_csv(out / TRAIN_FILE, index=False)
    test.to_csv(out / TEST_FILE, index=False)
    print(f"prepare: {len(train)} training rows, {len(test)} held-out rows -> {out}")


def main(*, out: Path, raw: Path | None = None) -> None:
    """The raw file named in dataset.yaml (or `raw`), split by the `prepare` section of params.yaml."""
    prepare(raw=raw or Path(DATASET.raw_data), out=out, **params.load("prepare"))
