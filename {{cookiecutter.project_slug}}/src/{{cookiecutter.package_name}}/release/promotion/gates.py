"""The promotion gates: what a pin must pass before it merges, run by `make promote` and again in CI.

In CI the gates are the base branch's code, run on the base branch's checkout (promote.yml runs on
`pull_request_target`): the pull request's merge commit is fetched and read with git as data, never
checked out or run, so a pull request cannot edit the judge it faces. It changes one pin file and
nothing else (deploy/k8s/ is the deploy's to write, by digest), and the thresholds it is judged by are
the base branch's. The pin's record is the lineage its source commit recorded, and that commit is on the
default branch. Production takes only what staging runs; a rollback only what the environment ran
before, and today's thresholds are reported for it without blocking it. A promotion must meet the
thresholds of params.yaml on the current held-out data, and not trail the environment's model.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ...contract import params
from ...contract.identity import Lineage
from ...pipeline import dvclock
from ...pipeline.evaluate import gate, score
from ...pipeline.outputs import HELD_OUT, LINEAGE
from ..adapters import dvc_fetch, gitrepo, storage
from ..environments import K8S
from ..errors import ReleaseError
from . import compare, pins


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def evaluate_pin(lineage: Lineage, source_commit: str) -> pins.Evaluation:
    """Score the model again on the current held-out data against the thresholds of params.yaml."""
    model = dvc_fetch.load(source_commit, lineage.artifact.sha256)
    values, _ = score(model, pd.read_csv(HELD_OUT))
    results = gate(values, params.load("evaluate"))
    hashes = dvclock.data_hashes(dvclock.read(), "evaluate")
    held_out = {path: md5 for path, md5 in hashes.items() if path == str(HELD_OUT)}
    return pins.Evaluation(data=held_out, metrics=values, gates={k: r["passed"] for k, r in results.items()})


def on_base(environment: str, base: str) -> pins.Pin | None:
    text = gitrepo.show(base, str(pins.path(environment)))
    return pins.parse(text, str(pins.path(environment))) if text else None


def ran_in(environment: str, sha256: str, base: str) -> bool:
    """Whether a pin of this environment on the default branch ever named this artifact."""
    for commit in gitrepo.first_parent_changes(base, str(pins.path(environment))):
        text = gitrepo.show(commit.sha, str(pins.path(environment)))
        if text and pins.parse(text, "history").model.artifact.sha256 == sha256:
            return True
    return False


def record(pin: pins.Pin, base: str) -> Check:
    """The pin's model record is the lineage its source commit recorded, and that commit is on the base."""
    return matches_source("record", pin.source_commit, pin.model, base)


def shadow_record(pin: pins.Pin, base: str) -> Check | None:
    """A shadow challenger's record is checked like the model's, against its own source commit."""
    if pin.shadow is None:
        return None
    return matches_source("shadow record", pin.shadow.source_commit, pin.shadow.model, base)


def matches_source(name: str, source_commit: str, model: Lineage, base: str) -> Check:
    if not gitrepo.exists(source_commit):
        return Check(name, False, f"source commit {source_commit[:12]} is not in this repository")
    if not gitrepo.is_ancestor(source_commit, base):
        return Check(name, False, f"source commit {source_commit[:12]} is not on {base}")
    text = gitrepo.show(source_commit, str(LINEAGE))
    if text is None:
        return Check(name, False, f"{LINEAGE} does not exist at {source_commit[:12]}")
    recorded = Lineage.model_validate_json(text).model_dump()
    differ = sorted(k for k, v in model.model_dump().items() if recorded.get(k) != v)
    if differ:
        return Check(name, False, f"differs from {LINEAGE} at {source_commit[:12]} in: {', '.join(differ)}")
    return Check(name, True, f"equals {LINEAGE} at {source_commit[:12]}, on {base}")


def order(pin: pins.Pin, base: str) -> Check | None:
    """Production takes only what staging runs on the default branch; a rollback only what it ran before."""
    sha = pin.model.artifact.sha256
    if pin.promoted_from == "rollback":
        ok = ran_in(pin.environment, sha, base)
        detail = f"{pin.environment} ran it before" if ok else f"it never ran in {pin.environment}"
        return Check("order", ok, detail)
    if pin.promoted_from == "candidate":
        return None
    before = on_base(pin.promoted_from, base)
    ok = before is not None and before.model.artifact.sha256 == sha
    runs = f"version {before.model.version}" if before else "nothing"
    detail = f"{pin.promoted_from} runs {runs} on {base}; {pin.environment} only takes what {pin.promoted_from} runs"
    return Check("order", ok, detail)


def thresholds(pin: pins.Pin) -> Check:
    failed = [name for name, passed in pin.evaluation.gates.items() if not passed]
    detail = f"failed: {', '.join(failed)}" if failed else "every threshold of params.yaml met"
    if pin.promoted_from == "rollback":  # restoring what ran is not blocked by today's thresholds
        return Check("thresholds", True, f"reported, not binding for a rollback: {detail}")
    return Check("thresholds", not failed, detail)


def no_regression(pin: pins.Pin, base: str, limits: dict[str, Any]) -> Check | None:
    """The pinned model against the one the environment runs on the base, on rows neither trained on."""
    current = on_base(pin.environment, base)
    if current is None or current.model.artifact.sha256 == pin.model.artifact.sha256 or pin.promoted_from == "rollback":
        return None  # a rollback is not blocked by today's model: it restores one that ran
    candidate = compare.from_pin(pin, "the candidate")
    found = compare.compare(
        candidate.load(), candidate.training_rows(), compare.from_pin(current, f"now in {pin.environment}"),
        pd.read_csv(HELD_OUT), limits,
    )  # fmt: skip
    detail = f"against {found.against}, on {found.basis}"
    return Check(
        "no regression", not found.worse, f"{detail}: worse on {', '.join(found.worse)}" if found.worse else detail
    )


def gates(pin: pins.Pin, base: str | None = None) -> list[Check]:
    """Every gate a pin must pass, in the order a reviewer reads them."""
    base = base or gitrepo.base()
    checks = [
        Check("pin", True, f"valid, {pin.model.model_name} version {pin.model.version}"),
        record(pin, base),
    ]
    found = [shadow_record(pin, base), order(pin, base), thresholds(pin),
             no_regression(pin, base, params.load("evaluate"))]  # fmt: skip
    return checks + [check for check in found if check is not None]


def markdown(pin: pins.Pin, checks: list[Check]) -> str:
    verdict = "pass" if all(c.passed for c in checks) else "FAIL"
    lines = [
        f"## Promote {pin.model.model_name} version {pin.model.version} to {pin.environment}: {verdict}",
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


PULL_REQUEST_REF = "refs/remotes/pull/merge"


def fetch_pull_request(number: int) -> str:
    """A pull request's merge commit, fetched from origin as data (its files are read with git, never run)."""
    gitrepo.remote("fetch", "--quiet", "--no-tags", "origin", f"+refs/pull/{number}/merge:{PULL_REQUEST_REF}")
    return PULL_REQUEST_REF


def scope(base: str, change: str = "HEAD") -> pins.Pin | None:
    """The one pin a change (a pull request's merge commit) makes against its base; refused if it changes
    anything else beside it. None for a change that touches no pin: not a promotion."""
    changed = gitrepo.git("diff", "--name-only", f"{base}...{change}").split()
    if deploys := [f for f in changed if Path(f).is_relative_to(K8S)]:  # any pull request, promotion or not
        raise ReleaseError(f"a pull request may not change deploy/k8s/ ({', '.join(deploys)}): a deploy writes it, "
                           "by the digest it pushed, after the merge")  # fmt: skip
    if not any(Path(f).parent == pins.PINS for f in changed):
        return None
    pin_files = [f for f in changed if Path(f).parent == pins.PINS and f.endswith(".yaml")]
    # The pin alone: the base's thresholds judge it, and deploy/k8s/ is written by the deploy, by digest.
    if len(pin_files) != 1 or set(changed) - set(pin_files):
        raise ReleaseError(
            "a promotion changes exactly one pin file and nothing else (deploy/k8s/ is written by the deploy), so "
            f"it is judged by the base branch's thresholds; this one changes {', '.join(changed) or 'nothing'}"
        )
    text = gitrepo.show(change, pin_files[0])
    if text is None:
        raise ReleaseError(f"{pin_files[0]} was deleted: a pin is replaced by a promotion or a rollback, never removed")
    return pins.parse(text, pin_files[0])


def write_outputs(pin: pins.Pin) -> None:
    """For the acceptance job in GitHub Actions: which environment, and the commit to test the candidate at."""
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with Path(outputs).open("a") as file:
            file.write(f"environment={pin.environment}\nsource_commit={pin.source_commit}\n")


def main(*, base: str | None, pull_request: int | None, output: Path) -> int:
    """`gate`: the pull request's one pin change against `base` (the event's base branch by default) passes.
    With a pull request's number, its merge commit is fetched and judged; else this checkout's HEAD."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        base = base or gitrepo.base()
        change = fetch_pull_request(pull_request) if pull_request else "HEAD"
        pin = scope(base, change)
        if pin is None:
            output.write_text("## Promotion gates: not a promotion\n\nThis change edits no pin: nothing to gate.\n")
            print("gate: this change edits no pin in deploy/environments/: not a promotion, nothing to gate")
            return 0
        storage.pull()  # the held-out rows the candidate is scored on
        checks = gates(pin.model_copy(update={"evaluation": evaluate_pin(pin.model, pin.source_commit)}), base)
    except ReleaseError as error:  # the PR's report says why, as the log does
        output.write_text(f"## Promotion gates: FAIL\n\n{error}\n")
        print(f"gate: {error}", file=sys.stderr)
        return 1
    text = markdown(pin, checks)
    output.write_text(text)
    print(text)
    write_outputs(pin)
    return 0 if all(c.passed for c in checks) else 1
