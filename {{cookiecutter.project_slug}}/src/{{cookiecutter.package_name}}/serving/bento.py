"""Package a verified model into the BentoML store and build the Bento, offline.

The Bento's version comes from the lineage record (`bento_tag`), so the record written by the
pipeline names the Bento before it exists, and /metadata can say which Bento is serving.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import bentoml

from ..contract.artifact import ARTIFACT_FILE, LINEAGE_FILE, ArtifactError, read_verified
from ..contract.names import MODEL_NAME
from .store import MODEL_TAG_VARIABLE, SHADOW_MODEL_NAME, SHADOW_TAG_VARIABLE

BENTOFILE = Path("bentofile.yaml")
REQUIREMENTS = Path("build/requirements-serve.txt")


def store_model(models: Path, name: str = MODEL_NAME) -> bentoml.Tag:
    """Copy the artifact and its lineage into the BentoML model store, once per artifact digest and record.

    The same bytes packaged again (an identical fit at another commit) replace the stored record,
    so /metadata always serves the record the build was asked for.
    """
    _, lineage = read_verified(models)  # never package an artifact that does not match its record
    tag = bentoml.Tag(name, lineage.version)
    try:
        stored = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        pass
    else:
        if (Path(stored.path) / LINEAGE_FILE).read_bytes() == (models / LINEAGE_FILE).read_bytes():
            return stored.tag
        bentoml.models.delete(tag)
    with bentoml.models.create(tag, labels={"git_commit": lineage.git_commit}) as model:
        fast_path = [lineage.fast_path.file] if lineage.fast_path else []  # the service checks it
        for name in (ARTIFACT_FILE, LINEAGE_FILE, *fast_path):
            shutil.copy2(models / name, Path(model.path) / name)
    return model.tag


def export_requirements() -> None:
    """The Bento installs exactly the serving dependencies uv.lock pins: no DVC, no MLflow."""
    REQUIREMENTS.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["uv", "export", "--frozen", "--no-default-groups", "--no-hashes", "--no-emit-project",
           "--no-header", "--quiet", "--output-file", str(REQUIREMENTS)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: `{' '.join(cmd)}` failed: {result.stderr.strip()}")


def build(models: Path, shadow: Path | None = None) -> str:
    """The Bento of the model in `models`, with the shadow challenger in `shadow` packed beside it if given.

    A Bento with a shadow is a different Bento: its version gains `-shadow-<shadow's version>`, so it
    never replaces the plain one (another environment may serve that).
    """
    _, lineage = read_verified(models)
    os.environ[MODEL_TAG_VARIABLE] = str(store_model(models))  # the service packs exactly this model
    bento_tag = bentoml.Tag.from_taglike(lineage.bento_tag)
    os.environ.pop(SHADOW_TAG_VARIABLE, None)
    if shadow is not None:
        shadow_tag = store_model(shadow, SHADOW_MODEL_NAME)
        os.environ[SHADOW_TAG_VARIABLE] = str(shadow_tag)
        bento_tag = bentoml.Tag(bento_tag.name, f"{bento_tag.version}-shadow-{shadow_tag.version}")
    export_requirements()
    # The same artifact rebuilt (after a change to the serving code, say) replaces its Bento.
    with contextlib.suppress(bentoml.exceptions.NotFound):
        bentoml.bentos.delete(bento_tag)
    bento = bentoml.bentos.build_bentofile(str(BENTOFILE), version=bento_tag.version)
    shadowed = f", shadow {os.environ[SHADOW_TAG_VARIABLE]}" if shadow is not None else ""
    print(f"build: Bento {bento.tag} (model {MODEL_NAME}, trained at {lineage.git_commit[:12]}{shadowed})")
    return str(bento.tag)


def main(*, models: Path, shadow: Path | None = None) -> None:
    try:
        build(models, shadow)
    except ArtifactError as error:
        raise SystemExit(f"build: {error}") from None
