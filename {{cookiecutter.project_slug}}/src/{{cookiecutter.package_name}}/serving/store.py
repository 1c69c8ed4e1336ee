"""Where Bentos and BentoML models live: the repository's .bentoml unless BENTOML_HOME says otherwise.

Light on purpose (no bentoml import): the command line sets the store before any command imports BentoML.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..contract.names import MODEL_NAME

DEFAULT_BENTOML_HOME = Path(".bentoml")
# Set by the build to the exact BentoML model the Bento packs; several versions share the store.
MODEL_TAG_VARIABLE = "BENTO_MODEL_TAG"
# ...and the shadow challenger it packs beside it, if any: stored under a name of its own, so the service
# tells the two apart in the Bento's list of models.
SHADOW_TAG_VARIABLE = "BENTO_SHADOW_TAG"
SHADOW_MODEL_NAME = f"{MODEL_NAME}-shadow"


def use_project_home() -> None:
    """Keep Bentos and models in the repository unless the caller chose a store (set before importing bentoml)."""
    os.environ.setdefault("BENTOML_HOME", str(DEFAULT_BENTOML_HOME.resolve()))
