"""Promote a model to an environment, or roll one back, by a pull request that edits one pin file.

`promote` takes the candidate (the model packaged on the current commit, or a named registry version
found in git history), runs the promotion gates, writes the pin on a branch with a structured commit,
pushes it and opens the pull request. The same gates run again in CI on the pull request.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import yaml

from . import gitops, params, pins
from .artifact import sha256_bytes
from .evaluate import gate, score
from .settings import DEFAULT_BRANCH, MODEL_NAME

LINEAGE = "models/lineage.json"
ARTIFACT = "models/model.joblib"
HELD_OUT = Path("data/prepared/test.csv")
ORDER = {"staging": "candidate", "production": "staging"}


class PromotionError(Exception):
    """A promotion that cannot go ahead; the message says why."""


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def candidate(version: str | None = None) -> tuple[pins.Lineage, str]:
    """The model to promote and the commit that records it: HEAD's, or the commit of a registry version."""
    if version is None:
        if not gitops.is_clean(LINEAGE, "dvc.lock"):
            raise PromotionError(f"{LINEAGE} or dvc.lock has uncommitted changes: commit the model first")
        text = gitops.show("HEAD", LINEAGE)
        if text is None:
            raise PromotionError(f"no {LINEAGE} on this commit: run `make repro` and commit its outputs")
        return pins.Lineage.model_validate_json(text), gitops.head()
    for commit in reversed(gitops.first_parent_changes(DEFAULT_BRANCH, LINEAGE)):
        text = gitops.show(commit.sha, LINEAGE)
        if text and json.loads(text).get("registry_version") == version:
            return pins.Lineage.model_validate_json(text), commit.sha
    raise PromotionError(f"version {version} of {MODEL_NAME} is not recorded on {DEFAULT_BRANCH}")


def fetch_verified(source_commit: str, sha256: str) -> bytes:
    """The served artifact as DVC recorded it at that commit (local cache or DVC remote), digest checked."""
    import dvc.api

    try:
        data: bytes = dvc.api.read(ARTIFACT, rev=source_commit, mode="rb")
    except Exception as error:
        raise PromotionError(f"{ARTIFACT} at {source_commit[:12]} cannot be retrieved: {error}") from None
    if sha256_bytes(data) != sha256:
        raise PromotionError(f"{ARTIFACT} at {source_commit[:12]} does not match its recorded sha256 {sha256[:12]}…")
    return data


def load(pin: pins.Pin) -> Any:
    return joblib.load(io.BytesIO(fetch_verified(pin.source_commit, pin.model.artifact.sha256)))


def held_out_md5() -> dict[str, str]:
    """Which held-out data the gates scored: its md5 as dvc.lock records it."""
    deps = yaml.safe_load(Path("dvc.lock").read_text())["stages"]["evaluate"]["deps"]
    return {d["path"]: d["md5"] for d in deps if d["path"] == str(HELD_OUT)}


def evaluate_pin(lineage: pins.Lineage, source_commit: str) -> tuple[pins.Evaluation, Any]:
    """Score the candidate again on the current held-out data against the thresholds of params.yaml."""
    model = joblib.load(io.BytesIO(fetch_verified(source_commit, lineage.artifact.sha256)))
    values, _ = score(model, pd.read_csv(HELD_OUT))
    results = gate(values, params.load("evaluate"))
    evaluation = pins.Evaluation(
        data=held_out_md5(), metrics=values, gates={k: r["passed"] for k, r in results.items()}
    )
    return evaluation, model


def on_default_branch(environment: str) -> pins.Pin | None:
    text = gitops.show(DEFAULT_BRANCH, str(pins.path(environment)))
    return pins.parse(text, str(pins.path(environment))) if text else None


def ran_in(environment: str, sha256: str) -> bool:
    """Whether a pin of this environment on the default branch ever named this artifact."""
    for commit in gitops.first_parent_changes(DEFAULT_BRANCH, str(pins.path(environment))):
        text = gitops.show(commit.sha, str(pins.path(environment)))
        if text and pins.parse(text, "history").model.artifact.sha256 == sha256:
            return True
    return False


def gates(pin: pins.Pin, model: Any | None = None) -> list[Check]:
    """The promotion gates, local and in CI: order, quality against thresholds and the current model."""
    checks = [Check("pin", True, f"valid, {pin.model.model_name} version {pin.model.registry_version}")]
    sha = pin.model.artifact.sha256
    if pin.environment == "production":
        staging = on_default_branch("staging")
        if pin.promoted_from == "rollback":
            ok = ran_in("production", sha)
            checks.append(
                Check(
                    "order",
                    ok,
                    "rolls back to a model production ran before" if ok else "rollback target never ran in production",
                )
            )
        else:
            ok = staging is not None and staging.model.artifact.sha256 == sha
            runs = f"version {staging.model.registry_version}" if staging else "nothing"
            checks.append(
                Check("order", ok, f"staging runs {runs} on {DEFAULT_BRANCH}; production only takes what staging runs")
            )
    failed = [name for name, passed in pin.evaluation.gates.items() if not passed]
    checks.append(
        Check(
            "thresholds", not failed, f"failed: {', '.join(failed)}" if failed else "every threshold of params.yaml met"
        )
    )
    current = on_default_branch(pin.environment)
    if current is not None and current.model.artifact.sha256 != sha and pin.promoted_from != "rollback":
        tolerance = params.load("evaluate")["tolerance"]
        theirs, _ = score(load(current), pd.read_csv(HELD_OUT))
        ours = pin.evaluation.metrics
        thresholds = params.load("evaluate")
        worse = [n for n in thresholds.get("min") or {} if ours[n] < theirs[n] * (1 - tolerance)]
        worse += [n for n in thresholds.get("max") or {} if ours[n] > theirs[n] * (1 + tolerance)]
        detail = f"against version {current.model.registry_version} now in {pin.environment}"
        checks.append(Check("no regression", not worse, f"{detail}: worse on {', '.join(worse)}" if worse else detail))
    return checks


def report(pin: pins.Pin, checks: list[Check]) -> str:
    verdict = "pass" if all(c.passed for c in checks) else "FAIL"
    lines = [
        f"## Promote {pin.model.model_name} version {pin.model.registry_version} to {pin.environment}: {verdict}",
        "",
        f"- artifact sha256 `{pin.model.artifact.sha256}`",
        f"- Bento `{pin.model.bento_tag}`; recorded at commit `{pin.source_commit}`, trained at `{pin.model.git_commit}`",
        f"- promoted from: {pin.promoted_from}",
        "",
        "| gate | result | detail |",
        "|---|---|---|",
    ]
    lines += [f"| {c.name} | {'pass' if c.passed else 'FAIL'} | {c.detail} |" for c in checks]
    lines += ["", "| metric | held-out value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in pin.evaluation.metrics.items()]
    return "\n".join(lines) + "\n"


def commit_message(pin: pins.Pin, verb: str) -> str:
    m = pin.model
    return (
        f"{verb} {m.model_name} v{m.registry_version} to {pin.environment}\n\n"
        f"Artifact {m.artifact.sha256[:12]}, Bento {m.bento_tag}, trained at {m.git_commit[:12]}.\n\n"
        f"Model: {m.model_name}\nModel-Version: {m.registry_version}\nArtifact-Sha256: {m.artifact.sha256}\n"
        f"Data-Version: {m.data_version}\nEnvironment: {pin.environment}\nPromoted-From: {pin.promoted_from}\n"
    )


def open_pull_request(branch: str, title: str, body: str, push: bool) -> str:
    if push:
        gitops.git("push", "--quiet", "--set-upstream", "origin", branch)
    command = ["gh", "pr", "create", "--base", DEFAULT_BRANCH, "--head", branch, "--title", title, "--body-file", "-"]
    authenticated = shutil.which("gh") and subprocess.run(["gh", "auth", "status"], capture_output=True).returncode == 0
    if push and authenticated:
        subprocess.run(command, input=body, text=True, check=True)
        return f"opened a pull request from {branch}"
    return f"pushed {branch}; open the pull request with:\n  {' '.join(command[:-2])} --body-file build/promotion.md"


def propose(pin: pins.Pin, checks: list[Check], *, verb: str, branch: str, push: bool) -> str:
    """Write the pin on a new branch, commit it with trailers, push, and open the pull request."""
    body = report(pin, checks)
    Path("build").mkdir(exist_ok=True)
    Path("build/promotion.md").write_text(body)
    if not all(c.passed for c in checks):
        raise PromotionError("refused:\n" + "\n".join(f"  - {c.name}: {c.detail}" for c in checks if not c.passed))
    start = gitops.git("rev-parse", "--abbrev-ref", "HEAD")
    gitops.git("switch", "--quiet", "--create", branch, DEFAULT_BRANCH)
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
    if previous == "staging":
        staging = on_default_branch("staging")
        if staging is not None and version is None:
            lineage, source = staging.model, staging.source_commit  # production takes what staging runs
    evaluation, _ = evaluate_pin(lineage, source)
    fields = {"environment": environment, "promoted_from": previous, "source_commit": source}
    pin = pins.Pin.model_validate(fields | {"model": lineage, "evaluation": evaluation})
    branch = f"promote/{environment}/{lineage.model_name}-v{lineage.registry_version}"
    return propose(pin, gates(pin), verb="Promote", branch=branch, push=push)


def rollback(environment: str, push: bool = True) -> str:
    """Restore the pin that preceded the current one on the default branch, as a new commit."""
    history = gitops.first_parent_changes(DEFAULT_BRANCH, str(pins.path(environment)))
    current = on_default_branch(environment)
    if current is None:
        raise PromotionError(f"nothing is pinned in {environment}: there is nothing to roll back")
    for commit in reversed(history):
        text = gitops.show(commit.sha, str(pins.path(environment)))
        earlier = pins.parse(text, "history") if text else None
        if earlier and earlier.model.artifact.sha256 != current.model.artifact.sha256:
            evaluation, _ = evaluate_pin(earlier.model, earlier.source_commit)
            pin = earlier.model_copy(update={"promoted_from": "rollback", "evaluation": evaluation})
            branch = f"rollback/{environment}/{earlier.model.model_name}-v{earlier.model.registry_version}"
            return propose(pin, gates(pin), verb="Roll back", branch=branch, push=push)
    raise PromotionError(f"{environment} has no earlier model to roll back to")
