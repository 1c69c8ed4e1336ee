"""Read params.yaml: every tunable and every gate threshold, one section per pipeline stage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


def load(section: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    with path.open() as f:
        params = yaml.safe_load(f)
    if section not in params:
        raise SystemExit(f"error: {path} has no `{section}` section; add it (see the template's params.yaml).")
    return dict(params[section])


def digest(path: Path = PARAMS_FILE) -> str:
    """sha256 of the parameters' content, indifferent to key order, comments and formatting."""
    with path.open() as f:
        canonical = json.dumps(yaml.safe_load(f), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
