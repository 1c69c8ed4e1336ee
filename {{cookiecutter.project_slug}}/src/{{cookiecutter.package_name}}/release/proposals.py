"""Propose a promotion or a rollback: the pin on a new branch, one commit with trailers, a pull request.

`promote` takes the candidate (the model packaged on the current commit, or a named registry version
found in the default branch's history); `rollback` restores the environment's previous pin. Both run
the gates first and refuse what would fail them; CI runs the same gates on the pull request.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..contract.names import MODEL_NAME
from ..pipeline import outputs
from . import gitops, pins
from .environments import ORDER
from .errors import ReleaseError
from .gates import Check, evaluate_pin, gates, markdown, on_base
from .github import open_pull_request

LINEAGE = str(outputs.LINEAGE)
REPORT = Path("build/promotion.md")


def candidate(version: str | None = None) -> tuple[pins.Lineage, str]:
    """The model to promote and the commit that records it: HEAD's, or the commit of a registry version."""
    if version is None:
        if not gitops.is_clean(LINEAGE, "dvc.lock"):
            raise ReleaseError(f"{LINEAGE} or dvc.lock has uncommitted changes: commit the model first")
        text = gitops.show("HEAD", LINEAGE)
        if text is None:
            raise ReleaseError(f"no {LINEAGE} on this commit: run `make repro` and commit its outputs")
        return pins.Lineage.model_validate_json(text), gitops.head()
    base = gitops.base()
    for commit in reversed(gitops.first_parent_changes(base, LINEAGE)):
        text = gitops.show(commit.sha, LINEAGE)
        if text and json.loads(text).get("registry_version") == version:
            return pins.Lineage.model_validate_json(text), commit.sha
    raise ReleaseError(f"version {version} of {MODEL_NAME} is not recorded on {base}")


def commit_message(pin: pins.Pin, verb: str) -> str:
    m = pin.model
    return (
        f"{verb} {m.model_name} v{m.registry_version} to {pin.environment}\n\n"
        f"Artifact {m.artifact.sha256[:12]}, Bento {m.bento_tag}, trained at {m.git_commit[:12]}.\n\n"
        f"Model: {m.model_name}\nModel-Version: {m.registry_version}\nArtifact-Sha256: {m.artifact.sha256}\n"
        f"Data-Version: {m.data_version}\nEnvironment: {pin.environment}\nPromoted-From: {pin.promoted_from}\n"
    )


def branch_name(pin: pins.Pin, kind: str) -> str:
    """`promote/production/<model>-v3-1a2b3c4d-5`: the artifact and the pin's next change number make it unique,
    however often a version is promoted or rolled back to, and whichever clone numbered the version."""
    changes = len(gitops.first_parent_changes(gitops.base(), str(pins.path(pin.environment))))
    m = pin.model
    return f"{kind}/{pin.environment}/{m.model_name}-v{m.registry_version}-{m.artifact.sha256[:8]}-{changes + 1}"


def propose(pin: pins.Pin, checks: list[Check], *, verb: str, kind: str, push: bool) -> str:
    """Write the pin on a new branch, commit it with trailers, push, and open the pull request."""
    branch = branch_name(pin, kind)
    body = markdown(pin, checks)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(body)
    if not all(c.passed for c in checks):
        raise ReleaseError("refused:\n" + "\n".join(f"  - {c.name}: {c.detail}" for c in checks if not c.passed))
    start = gitops.git("rev-parse", "--abbrev-ref", "HEAD")
    gitops.git("switch", "--quiet", "--create", branch, gitops.base())
    try:
        pins.write(pin)
        gitops.git("add", str(pins.path(pin.environment)))
        gitops.git("commit", "--quiet", "-m", commit_message(pin, verb))
        return open_pull_request(branch, commit_message(pin, verb).splitlines()[0], body, push)
    finally:
        gitops.git("switch", "--quiet", start)


def promote(environment: str, version: str | None = None, push: bool = True) -> str:
    lineage, source = candidate(version)
    previous = ORDER[environment]
    if previous != "candidate":
        before = on_base(previous, gitops.base())
        if before is not None and version is None:
            lineage, source = before.model, before.source_commit  # an environment takes what the one before runs
    fields = {"environment": environment, "promoted_from": previous, "source_commit": source}
    pin = pins.Pin.model_validate(fields | {"model": lineage, "evaluation": evaluate_pin(lineage, source)})
    return propose(pin, gates(pin), verb="Promote", kind="promote", push=push)


def rollback(environment: str, push: bool = True) -> str:
    """Restore the pin that preceded the current one on the default branch, as a new commit."""
    base = gitops.base()
    history = gitops.first_parent_changes(base, str(pins.path(environment)))
    current = on_base(environment, base)
    if current is None:
        raise ReleaseError(f"nothing is pinned in {environment}: there is nothing to roll back")
    for commit in reversed(history):
        text = gitops.show(commit.sha, str(pins.path(environment)))
        earlier = pins.parse(text, "history") if text else None
        if earlier and earlier.model.artifact.sha256 != current.model.artifact.sha256:
            evaluation = evaluate_pin(earlier.model, earlier.source_commit)
            pin = earlier.model_copy(update={"promoted_from": "rollback", "evaluation": evaluation})
            return propose(pin, gates(pin), verb="Roll back", kind="rollback", push=push)
    raise ReleaseError(f"{environment} has no earlier model to roll back to")


def promote_command(*, environment: str, version: str | None, no_push: bool) -> None:
    print(promote(environment, version, push=not no_push))


def rollback_command(*, environment: str, no_push: bool) -> None:
    print(rollback(environment, push=not no_push))
