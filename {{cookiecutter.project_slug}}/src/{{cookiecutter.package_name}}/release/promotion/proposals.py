"""Propose a promotion or a rollback: the pin on a new branch, one commit with trailers, a pull request.

`promote` takes the candidate (the model packaged on the current commit, or a version — a prefix of
its artifact's digest — found in the default branch's history); `rollback` restores the environment's previous pin. Both run
the gates first and refuse what would fail them; CI runs the same gates on the pull request.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ...contract.identity import Lineage
from ...contract.names import MODEL_NAME
from ...pipeline import outputs
from ..adapters import gitrepo
from ..adapters.github import open_pull_request
from ..environments import ORDER
from ..errors import ReleaseError
from . import pins
from .gates import Check, evaluate_pin, gates, markdown, on_base

LINEAGE = str(outputs.LINEAGE)
REPORT = Path("build/promotion.md")


def candidate(version: str | None = None) -> tuple[Lineage, str]:
    """The model to promote and the commit that records it: HEAD's, or the last commit on the default
    branch that recorded the version (at least 7 characters of the artifact's digest)."""
    if version is None:
        if not gitrepo.is_clean(LINEAGE, "dvc.lock"):
            raise ReleaseError(f"{LINEAGE} or dvc.lock has uncommitted changes: commit the model first")
        text = gitrepo.show("HEAD", LINEAGE)
        if text is None:
            raise ReleaseError(f"no {LINEAGE} on this commit: run `make repro` and commit its outputs")
        return Lineage.model_validate_json(text), gitrepo.head()
    if not re.fullmatch(r"[0-9a-f]{7,64}", version):
        raise ReleaseError(f"version {version!r}: give at least 7 hex characters of the artifact's sha256")
    base = gitrepo.base()
    found: dict[str, tuple[Lineage, str]] = {}
    for commit in gitrepo.first_parent_changes(base, LINEAGE):  # oldest first: the newest record wins
        text = gitrepo.show(commit.sha, LINEAGE)
        sha = json.loads(text)["artifact"]["sha256"] if text else ""
        if sha.startswith(version):
            found[sha] = (Lineage.model_validate_json(text or ""), commit.sha)
    if len(found) > 1:
        raise ReleaseError(f"version {version} is ambiguous on {base}: {', '.join(s[:12] for s in sorted(found))}")
    if not found:
        raise ReleaseError(f"version {version} of {MODEL_NAME} is not recorded on {base}")
    return next(iter(found.values()))


def commit_message(pin: pins.Pin, verb: str) -> str:
    m = pin.model
    return (
        f"{verb} {m.model_name} {m.version} to {pin.environment}\n\n"
        f"Bento {m.bento_tag}, trained at {m.git_commit[:12]}.\n\n"
        f"Model: {m.model_name}\nModel-Version: {m.version}\nArtifact-Sha256: {m.artifact.sha256}\n"
        f"Data-Version: {m.data_version}\nEnvironment: {pin.environment}\nPromoted-From: {pin.promoted_from}\n"
    )


def branch_name(pin: pins.Pin, kind: str) -> str:
    """`promote/production/<model>-1a2b3c4d5e6f-5`: the version and the pin's next change number make it
    unique, however often a version is promoted or rolled back to."""
    changes = len(gitrepo.first_parent_changes(gitrepo.base(), str(pins.path(pin.environment))))
    return f"{kind}/{pin.environment}/{pin.model.model_name}-{pin.model.version}-{changes + 1}"


def propose(pin: pins.Pin, checks: list[Check], *, verb: str, kind: str, push: bool) -> str:
    """Write the pin on a new branch, commit it with trailers, push, and open the pull request."""
    branch = branch_name(pin, kind)
    body = markdown(pin, checks)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(body)
    if not all(c.passed for c in checks):
        raise ReleaseError("refused:\n" + "\n".join(f"  - {c.name}: {c.detail}" for c in checks if not c.passed))
    start = gitrepo.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)  # "" when detached
    back = ["switch", "--quiet", start] if start else ["switch", "--quiet", "--detach", gitrepo.head()]
    gitrepo.git("switch", "--quiet", "--create", branch, gitrepo.base())
    try:
        pins.write(pin)
        gitrepo.git("add", str(pins.path(pin.environment)))
        gitrepo.git("commit", "--quiet", "-m", commit_message(pin, verb))
        return open_pull_request(branch, commit_message(pin, verb).splitlines()[0], body, push)
    finally:
        gitrepo.git(*back)


def promote(environment: str, version: str | None = None, push: bool = True) -> str:
    lineage, source = candidate(version)
    previous = ORDER[environment]
    if previous != "candidate":
        before = on_base(previous, gitrepo.base())
        if before is not None and version is None:
            lineage, source = before.model, before.source_commit  # an environment takes what the one before runs
    fields = {"environment": environment, "promoted_from": previous, "source_commit": source}
    pin = pins.Pin.model_validate(fields | {"model": lineage, "evaluation": evaluate_pin(lineage, source)})
    return propose(pin, gates(pin), verb="Promote", kind="promote", push=push)


def previous(environment: str, base: str) -> pins.Pin | None:
    """The pin a rollback restores: the model that ran before the current one was promoted.

    The pin history is read as a stack: a promotion pushes a model, a rollback pops back to the one it
    restores. Rolling back twice therefore goes two models back, never to the model just rolled back from.
    """
    stack: list[pins.Pin] = []
    for commit in gitrepo.first_parent_changes(base, str(pins.path(environment))):
        text = gitrepo.show(commit.sha, str(pins.path(environment)))
        pin = pins.parse(text, f"{pins.path(environment)} at {commit.sha[:12]}") if text else None
        if pin is None:
            stack.clear()
        elif pin.promoted_from == "rollback":
            shas = [p.model.artifact.sha256 for p in stack]
            if pin.model.artifact.sha256 in shas:
                del stack[len(shas) - shas[::-1].index(pin.model.artifact.sha256) :]  # back to it
            stack[-1:] = [pin]
        elif not stack or stack[-1].model.artifact.sha256 != pin.model.artifact.sha256:
            stack.append(pin)
    return stack[-2] if len(stack) > 1 else None


def rollback(environment: str, push: bool = True) -> str:
    """Restore, as a new commit, the pin that ran before the current one on the default branch."""
    base = gitrepo.base()
    if on_base(environment, base) is None:
        raise ReleaseError(f"nothing is pinned in {environment}: there is nothing to roll back")
    earlier = previous(environment, base)
    if earlier is None:
        raise ReleaseError(f"{environment} has no earlier model to roll back to")
    evaluation = evaluate_pin(earlier.model, earlier.source_commit)
    pin = earlier.model_copy(update={"promoted_from": "rollback", "evaluation": evaluation})
    return propose(pin, gates(pin), verb="Roll back", kind="rollback", push=push)


def promote_command(*, environment: str, version: str | None, no_push: bool) -> None:
    print(promote(environment, version, push=not no_push))


def rollback_command(*, environment: str, no_push: bool) -> None:
    print(rollback(environment, push=not no_push))
