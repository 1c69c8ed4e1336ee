"""Deploy what a pin file says, check that it is what serves, and record the deploy.

The record goes on the commit that last changed the environment's pin on the default branch (the
merged promotion): a git note (the PR, who approved it, what serves where since when), a GTO-format
tag `<model>#<env>#<n>`, and the MLflow alias named after the environment, which mirrors git and is
never the authority. `pending` compares each pin with its environment's last record, so a deploy run
that GitHub cancelled while it queued loses nothing: the next run deploys what the pin says.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...contract.names import DEFAULT_BRANCH, MODEL_NAME
from ..adapters import github, gitrepo
from ..environments import ENVIRONMENTS
from ..errors import ReleaseError
from ..promotion import pins
from . import manifests, records
from .pinned_bento import build_pinned
from .targets import TARGETS, Served


def served_sha256(url: str) -> str | None:
    """The artifact sha256 that the URL's /metadata names, or None if it does not answer with one."""
    try:
        with urllib.request.urlopen(f"{url}/metadata", timeout=10) as response:
            return str(json.loads(response.read())["artifact"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def outcome(served: Served, pin: pins.Pin) -> str:
    """What the record says happened: "deployed" only once /metadata served the pin (else this raises).
    The check waits up to served.wait_s for the pin to be served: a rollout or a GitOps sync takes time."""
    if not served.url:
        pushed = "@sha256:" in served.image
        return f"image {'pushed' if pushed else 'built'}, not deployed: {served.unchecked} (see docs/deploy.md)"
    deadline = time.monotonic() + served.wait_s
    while (sha256 := served_sha256(served.url)) != pin.model.artifact.sha256 and time.monotonic() < deadline:
        time.sleep(2)
    if sha256 is None:
        raise ReleaseError(f"{served.url}/metadata did not answer with a model within {served.wait_s:.0f} s")
    if sha256 != pin.model.artifact.sha256:
        raise ReleaseError(f"{served.url} serves {sha256[:12]}, the pin says {pin.model.artifact.sha256[:12]}")
    return "deployed; /metadata matches the pin"


def mirror_alias(pin: pins.Pin) -> tuple[str | None, str]:
    """Point the registry alias named after the environment at the model: a mirror of git, best effort.
    Returns the registry version (None if it could not be set) and what happened, for the record."""
    from mlflow.exceptions import MlflowException

    from ..adapters import registry

    try:
        version = registry.set_alias(pin.environment, pin.model)
    except (ReleaseError, MlflowException, OSError) as error:  # e.g. no such run here; git stays the authority
        return None, f"alias not set ({error.__class__.__name__}: {str(error).splitlines()[0][:200]})"
    return version, f"alias {pin.environment!r} -> registry version {version}"


def promotion(environment: str) -> gitrepo.Commit:
    """The commit on the default branch that last changed the environment's pin: what a deploy records."""
    changes = gitrepo.first_parent_changes(gitrepo.base(), str(pins.path(environment)))
    if not changes:
        raise ReleaseError(f"nothing is pinned in {environment} on {gitrepo.base()}")
    return changes[-1]


def on_default_branch() -> None:
    """In GitHub Actions, deploy only from the default branch: a manual run started on another branch
    would otherwise deploy that branch's unreviewed pins."""
    ref = os.environ.get("GITHUB_REF")
    if ref and ref != f"refs/heads/{DEFAULT_BRANCH}":
        raise ReleaseError(f"deploys run from refs/heads/{DEFAULT_BRANCH} only; this run is for {ref}")


def pending() -> list[str]:
    """The environments whose pin differs from what their last recorded deploy served, or whose
    deploy/k8s/ folder a deploy would render differently now (params.yaml's sizes, a template update)."""
    on_default_branch()
    records.fetch()
    out = []
    for environment in ENVIRONMENTS:
        pin = pins.read(environment)
        last = records.last_deploy(MODEL_NAME, environment)
        if pin is None:
            continue
        # An image pushed but not deployed is still pending: nothing was seen serving it.
        if (
            last is None
            or not str(last.get("result", "deployed")).startswith("deployed")
            or last.get("artifact_sha256") != pin.model.artifact.sha256
            or manifests.stale(environment, pin)
        ):
            out.append(environment)
    return out


def print_pending() -> None:
    """`pending`: one line per environment to deploy, for the deploy workflow's jobs."""
    for environment in pending():
        print(environment)


def print_reviews(*, environment: str) -> None:
    """`reviews`: the pull request that last changed the environment's pin and GitHub's reviews of it, as one
    JSON line (`{"pull_request": n, "reviews": [...]}`), for the deploy job, which has no token to ask."""
    pull_request = github.merged_pull_request(promotion(environment))
    reviews = github.reviews(pull_request) if pull_request else []
    print(json.dumps({"pull_request": pull_request, "reviews": reviews}))


def review_record(change: gitrepo.Commit, reviews: Path | None) -> tuple[int | None, list[dict[str, Any]]]:
    """The PR and its reviews: from `make reviews`' JSON, or GitHub's list of reviews (asked of GitHub if absent)."""
    found = json.loads(reviews.read_text()) if reviews else None
    if isinstance(found, dict):
        return found.get("pull_request"), list(found.get("reviews", []))
    pull_request = github.merged_pull_request(change)
    if found is None:
        found = github.reviews(pull_request) if pull_request else []
    return pull_request, list(found)


def deploy(environment: str, target: str, reviews: Path | None, push: bool = True) -> dict[str, Any]:
    on_default_branch()
    pin = pins.read(environment)
    if pin is None:
        raise ReleaseError(f"nothing is pinned in {environment}")
    change = promotion(environment)
    chosen = TARGETS[target]()
    served = chosen.deploy(environment, build_pinned(pin) if chosen.builds else "")
    url = served.url
    result = outcome(served, pin)
    pull_request, found = review_record(change, reviews)
    approvers, reviewers = github.approvals(found)
    deployed = result.startswith("deployed")
    # The stage tag and the registry alias say "this serves there": only a checked deploy earns them.
    tag = records.next_tag(pin.model.model_name, environment) if deployed else None  # earlier tags are fetched
    entry: dict[str, Any] = {
        "environment": environment,
        "commit": change.sha,
        "pull_request": pull_request,
        "approvers": approvers,
        "reviewers": reviewers,
        "model_version": pin.model.version,
        "artifact_sha256": pin.model.artifact.sha256,
        "target": target,
        "url": url,
        "image": served.image,
        "result": result,
        "deployed_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "tag": tag,
    }
    entry["registry_version"], entry["alias"] = mirror_alias(pin) if deployed else (None, "not moved: not deployed")
    records.add(change.sha, entry)
    if tag:
        message = f"{environment}: {pin.model.model_name} {pin.model.version}"
        gitrepo.git("tag", "--annotate", tag, "-m", message, change.sha)
    if push and gitrepo.has_remote():
        records.push(*([tag] if tag else []))
    return entry


def main(*, environment: str, target: str, reviews: Path | None, no_push: bool) -> None:
    print(json.dumps(deploy(environment, target, reviews, push=not no_push), indent=2))


def push_records() -> None:
    """`push-records`: push the local deploy tags and notes (the deploy workflow's last, authenticated step)."""
    # Tags the remote already has are up to date: pushing them again changes nothing.
    records.push(*gitrepo.git("tag", "--list", f"{MODEL_NAME}#*").split())
