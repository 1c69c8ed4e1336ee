"""Names and locations every module agrees on. Environment variables override the baked defaults."""

from __future__ import annotations

import os
from pathlib import Path

# The MLflow registered model, the BentoML model and the lineage record all use this name.
MODEL_NAME = "{{ cookiecutter.package_name }}"
# The BentoML service, hence the Bento's name.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
# Where promotions land; the PR report compares against it.
DEFAULT_BRANCH = "{{ cookiecutter.default_branch }}"

# Embedded defaults: a sqlite file and an artifact folder in the repository, a BentoML store beside them.
DEFAULT_TRACKING_URI = "{{ cookiecutter.mlflow_tracking_uri }}"
LOCAL_ARTIFACTS = Path("mlartifacts")
DEFAULT_BENTOML_HOME = Path(".bentoml")

# Set by the build to the exact BentoML model the Bento packs; several versions share the store.
MODEL_TAG_VARIABLE = "BENTO_MODEL_TAG"

# Inside the BentoML model folder: the file that is served and the record that says what it is.
ARTIFACT_FILE = "model.joblib"
LINEAGE_FILE = "lineage.json"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)


def use_project_bentoml_home() -> None:
    """Keep Bentos and models in the repository unless the caller chose a store (set before importing bentoml)."""
    os.environ.setdefault("BENTOML_HOME", str(DEFAULT_BENTOML_HOME.resolve()))


# A request still unanswered after this gets a 503.
REQUEST_TIMEOUT_S = 30
# The largest batch one request may carry; a larger one is refused with a 400 before it reaches the model.
MAX_BATCH_ROWS = 1000
# The largest request body, refused with a 413 before it is read into memory or parsed. A record of the
# contract is about 150 bytes of JSON; 1 KiB a record leaves room for long floats, indentation and
# fields the service ignores, so a full batch always fits, and a body no batch needs is never read.
MAX_RECORD_BYTES = 1024
MAX_BODY_BYTES = MAX_BATCH_ROWS * MAX_RECORD_BYTES
