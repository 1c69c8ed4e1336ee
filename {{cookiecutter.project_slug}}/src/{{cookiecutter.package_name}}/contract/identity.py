"""The model's identity record (models/lineage.json), one typed class from the pipeline to /metadata and pins.

The `package` stage writes it beside the artifact; the artifact check reads it; the service returns it at
/metadata (its schema is on the OpenAPI page); a pin embeds it; the image labels and the audit read it.
It names no registry version: a registry numbers the model after the fact (`make register`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .dataset import DATASET

SHA256 = r"^[0-9a-f]{64}$"
COMMIT = r"^[0-9a-f]{40}$"


def model_version(artifact_sha256: str) -> str:
    """A model's version: the start of its artifact's digest. Two clones can never mint the same one for
    different models, unlike a counter; the registry's own version numbers are labels it adds on top."""
    return artifact_sha256[:12]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Artifact(Strict):
    file: str
    sha256: str = Field(pattern=SHA256)


class FastPath(Strict):
    file: str
    sha256: str = Field(pattern=SHA256)
    serving: Literal["fast path", "pipeline"]


class Lineage(Strict):
    """What a packaged model is: its artifact, the commit, data and parameters it came from, its metrics."""

    schema_version: int
    model_name: str
    mlflow_run_id: str
    artifact: Artifact
    bento_tag: str = Field(description="the Bento that serves it: the service's name, versioned by the model")
    git_commit: str = Field(pattern=COMMIT)
    git_dirty: bool
    data: dict[str, str] = Field(description="md5 of each data file the pipeline read, by path")
    params_sha256: str = Field(pattern=SHA256)
    metrics: dict[str, float] = Field(description="the evaluate stage's held-out metrics")
    created_at: str
    fast_path: FastPath | None = None  # absent from records packaged before there was one
    decision_threshold: float | None = Field(
        default=None, description="a binary model's: the positive class is answered when its probability reaches it"
    )

    @property
    def version(self) -> str:
        """The model's version: what /metadata, commit messages, branch names, tags and the audit call it."""
        return model_version(self.artifact.sha256)

    @property
    def data_version(self) -> str:
        """The md5 of the raw data the model learned from: what a promotion commit and the audit call its data."""
        return self.data.get(DATASET.raw_data) or next(iter(self.data.values()), "")
