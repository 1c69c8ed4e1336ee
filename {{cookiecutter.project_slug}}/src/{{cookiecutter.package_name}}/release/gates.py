"""The promotion gates: what a pin must pass before it merges, run by `make promote` and again in CI.

Order (production takes only what staging runs; a rollback only what ran before), the thresholds of
params.yaml recomputed on the current held-out data, and no regression against the environment's model.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.names import DEFAULT_BRANCH
from ..pipeline import dvclock, params
from ..pipeline.evaluate import gate, score
from . import artifacts, compare, gitops, pins
from .errors import ReleaseError

HELD_OUT = Path("data/prepared/test.csv")


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def evaluate_pin(lineage: pins.Lineage, source_commit: str) -> pins.Evaluation:
    """Score the model again on the current held-out data against the thresholds of params.yaml."""
    model = artifacts.load(source_commit, lineage.artifact.sha256)
    values, _ = score(model, pd.read_csv(HELD_OUT))
    results = gate(values, params.load("evaluate"))
    held_out = {
        path: md5 for path, md5 in dvclock.data_hashes(dvclock.read(), "evaluate").items() if path == str(HELD_OUT)
    }
    return pins.Evaluation(data=held_out, metrics=values, gates={k: r["passed"] for k, r in results.items()})


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


def order(pin: pins.Pin) -> Check | None:
    """Production takes only what staging runs on the default branch; a rollback only what it ran before."""
    if pin.environment != "production":
        return None
    sha = pin.model.artifact.sha256
    if pin.promoted_from == "rollback":
        ok = ran_in("production", sha)
        detail = "rolls back to a model production ran before" if ok else "rollback target never ran in production"
        return Check("order", ok, detail)
    staging = on_default_branch("staging")
    ok = staging is not None and staging.model.artifact.sha256 == sha
    runs = f"version {staging.model.registry_version}" if staging else "nothing"
    return Check("order", ok, f"staging runs {runs} on {DEFAULT_BRANCH}; production only takes what staging runs")


def no_regression(pin: pins.Pin, thresholds: dict[str, Any]) -> Check | None:
    """The pinned model against the one the environment runs on the default branch, on the same held-out data."""
    current = on_default_branch(pin.environment)
    if current is None or current.model.artifact.sha256 == pin.model.artifact.sha256 or pin.promoted_from == "rollback":
        return None  # a rollback is not blocked by today's model: it restores one that ran
    model = artifacts.load(current.source_commit, current.model.artifact.sha256)
    theirs, _ = score(model, pd.read_csv(HELD_OUT))
    worse = compare.regressions(pin.evaluation.metrics, theirs, thresholds)
    detail = f"against version {current.model.registry_version} now in {pin.environment}"
    return Check("no regression", not worse, f"{detail}: worse on {', '.join(worse)}" if worse else detail)


def gates(pin: pins.Pin) -> list[Check]:
    """Every gate a pin must pass, in the order a reviewer reads them."""
    checks = [Check("pin", True, f"valid, {pin.model.model_name} version {pin.model.registry_version}")]
    failed = [name for name, passed in pin.evaluation.gates.items() if not passed]
    met = Check(
        "thresholds", not failed, f"failed: {', '.join(failed)}" if failed else "every threshold of params.yaml met"
    )
    found = [order(pin), met, no_regression(pin, params.load("evaluate"))]
    return checks + [check for check in found if check is not None]


def markdown(pin: pins.Pin, checks: list[Check]) -> str:
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


def main(*, base: str, output: Path) -> int:
    """`gate`: a pull request changes exactly one pin file against `base`, and that pin passes every gate."""
    changed = gitops.git("diff", "--name-only", f"{base}...HEAD", "--", str(pins.PINS)).split()
    if len(changed) != 1:
        print(f"gate: a promotion changes exactly one pin file; this one changes {changed or 'none'}", file=sys.stderr)
        return 1
    pin = pins.read(Path(changed[0]).stem)
    if pin is None:
        raise ReleaseError(f"{changed[0]} was deleted")
    checks = gates(pin.model_copy(update={"evaluation": evaluate_pin(pin.model, pin.source_commit)}))
    text = markdown(pin, checks)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    return 0 if all(c.passed for c in checks) else 1
