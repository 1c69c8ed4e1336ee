"""Reading dvc.lock: the md5 DVC recorded for the data each stage read. The lineage and the gates both ask it."""

from __future__ import annotations

from pathlib import Path

import yaml

LOCK_FILE = Path("dvc.lock")


def data_hashes(lock_text: str, stage: str | None = None) -> dict[str, str]:
    """Every dependency under data/ with its md5, of one stage or of the whole pipeline, sorted by path."""
    stages = (yaml.safe_load(lock_text) or {}).get("stages", {})
    chosen = [stages.get(stage, {})] if stage else list(stages.values())
    hashes = {
        dep["path"]: dep["md5"] for found in chosen for dep in found.get("deps", []) if dep["path"].startswith("data/")
    }
    return dict(sorted(hashes.items()))


def read(lock: Path = LOCK_FILE) -> str:
    if not lock.exists():
        raise SystemExit(f"error: {lock} not found; run `make repro` first.")
    return lock.read_text()
