"""Deploy what a pin file says, check that it is what serves, and record the deploy.

Records: a git note on the merge commit (who approved, what happened, when), a GTO-format tag
`<model>#<env>#<n>`, and the MLflow alias named after the environment, which mirrors git and is never
the authority.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..contract.artifact import ARTIFACT_FILE, LINEAGE_FILE
from . import gitops, pins
from .artifacts import fetch_verified
from .errors import ReleaseError
from .github import approvals
from .targets import TARGETS


def build_pinned(pin: pins.Pin) -> str:
    """Fetch the pinned artifact through DVC, check its digest, and build its Bento."""
    from ..serving.bento import build

    data = fetch_verified(pin.source_commit, pin.model.artifact.sha256)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / ARTIFACT_FILE).write_bytes(data)
        (Path(folder) / LINEAGE_FILE).write_text(
            json.dumps(pin.model.model_dump(mode="json"), indent=2, sort_keys=True)
        )
        return build(Path(folder))


def served_sha256(url: str, attempts: int = 10) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/metadata", timeout=10) as response:
                return str(json.loads(response.read())["artifact"]["sha256"])
        except OSError:
            time.sleep(1)
    raise ReleaseError(f"{url}/metadata did not answer")


def next_tag(model: str, environment: str) -> str:
    existing = gitops.git("tag", "--list", f"{model}#{environment}#*").split()
    return f"{model}#{environment}#{len(existing) + 1}"


def mirror_alias(pin: pins.Pin) -> str:
    """Point the registry alias named after the environment at the version; a mirror of git, best effort."""
    try:
        from ..pipeline import tracking

        tracking.start().set_registered_model_alias(pin.model.model_name, pin.environment, pin.model.registry_version)
        return f"alias {pin.environment!r} -> version {pin.model.registry_version}"
    except Exception as error:  # the registry may not know this version here; git stays the authority
        return f"alias not set ({error.__class__.__name__}): git remains the record"


def record(pin: pins.Pin, *, target: str, url: str, result: str, reviews: list[dict[str, Any]]) -> dict[str, Any]:
    """What the deploy note says: the PR it merged, who approved it, what serves where since when."""
    approvers, reviewers = approvals(reviews)
    return {
        "environment": pin.environment,
        "pull_request": gitops.pull_request(gitops.git("log", "-1", "--format=%s")),
        "approvers": approvers,
        "reviewers": reviewers,
        "model_version": pin.model.registry_version,
        "artifact_sha256": pin.model.artifact.sha256,
        "target": target,
        "url": url,
        "result": result,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tag": next_tag(pin.model.model_name, pin.environment),
        "alias": mirror_alias(pin),
    }


def deploy(environment: str, target: str, reviews: Path | None, push: bool = True) -> dict[str, Any]:
    pin = pins.read(environment)
    if pin is None:
        raise ReleaseError(f"nothing is pinned in {environment}")
    url = TARGETS[target]().deploy(environment, build_pinned(pin))
    result = "deployed"
    if url:
        served = served_sha256(url)
        if served != pin.model.artifact.sha256:
            raise ReleaseError(f"{url} serves {served[:12]}, the pin says {pin.model.artifact.sha256[:12]}")
        result = "deployed; /metadata matches the pin"
    entry = record(
        pin, target=target, url=url, result=result, reviews=json.loads(reviews.read_text()) if reviews else []
    )
    commit = gitops.head()
    gitops.add_note(commit, entry)
    message = f"{environment}: {pin.model.model_name} v{pin.model.registry_version}"
    gitops.git("tag", "--annotate", entry["tag"], "-m", message, commit)
    if push and gitops.git("remote", check=False):
        gitops.git("push", "--quiet", "origin", entry["tag"], gitops.NOTES_REF)
    return entry


def main(*, environment: str, target: str, reviews: Path | None, no_push: bool) -> None:
    print(json.dumps(deploy(environment, target, reviews, push=not no_push), indent=2))
