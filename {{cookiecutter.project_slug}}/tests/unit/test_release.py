"""The release code on small fixtures: pins parsed and refused, gate decisions, PR recognition, the audit.

Git is real (a repository in a temporary folder, commits made as GitHub merges pull requests); nothing
needs DVC or a trained model: the gates that score artifacts are the template's end-to-end tests'.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.contract.names import DEFAULT_BRANCH
from {{ cookiecutter.package_name }}.release import audit, compare, gates, github, gitops, pins
from {{ cookiecutter.package_name }}.release.environments import ENVIRONMENTS, ORDER

PARAMS = "evaluate:\n  tolerance: 0.02\n  min:\n    accuracy: 0.9\n  max:\n    rmse: 10.0\n"


def lineage(sha: str, version: str = "1") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "model_name": "model",
        "registry_version": version,
        "mlflow_run_id": "run",
        "artifact": {"file": "model.joblib", "sha256": sha * 64},
        "bento_tag": f"service:{sha * 16}",
        "git_commit": "c" * 40,
        "git_dirty": False,
        "data": {"data/raw/data.csv": "d" * 32},
        "params_sha256": "e" * 64,
        "metrics": {"accuracy": 0.95},
        "created_at": "2026-11-23T10:00:00+00:00",
    }


def pin(environment: str, sha: str, version: str = "1", promoted_from: str | None = None, **gates: bool) -> pins.Pin:
    return pins.Pin.model_validate(
        {
            "environment": environment,
            "promoted_from": promoted_from or ORDER[environment],
            "source_commit": "f" * 40,
            "model": lineage(sha, version),
            "evaluation": {"data": {}, "metrics": {"accuracy": 0.95}, "gates": gates or {"accuracy": True}},
        }
    )


# --- pins ----------------------------------------------------------------------------------------


def test_a_pin_round_trips_through_its_file_text() -> None:
    original = pin("staging", "a")
    assert pins.parse(pins.dump(original), "deploy/environments/staging.yaml") == original


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["model"]["artifact"].update(sha256="short"), "model.artifact.sha256"),
        (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda d: d.update(environment="prod"), "environment:"),
        (lambda d: d.update(promoted_from="laptop"), "promoted_from:"),
        (lambda d: d["model"].pop("git_commit"), "model.git_commit: Field required"),
    ],
    ids=["bad digest", "unknown field", "unknown environment", "unknown origin", "missing field"],
)
def test_a_malformed_pin_is_refused_naming_the_field(change: Any, message: str) -> None:
    data = pin("staging", "a").model_dump(mode="json")
    change(data)
    with pytest.raises(pins.PinError, match=message):
        pins.parse(json.dumps(data), "deploy/environments/staging.yaml")


def test_a_pin_in_another_environments_file_is_refused() -> None:
    with pytest.raises(pins.PinError, match=r"environment: says 'staging', but the file is production\.yaml"):
        pins.parse(pins.dump(pin("staging", "a")), "deploy/environments/production.yaml")


def test_text_that_is_not_yaml_is_refused() -> None:
    with pytest.raises(pins.PinError, match="not YAML"):
        pins.parse("environment: [staging", "deploy/environments/staging.yaml")


def test_pins_accept_exactly_the_environments() -> None:
    assert pins.path(ENVIRONMENTS[0]) == pins.PINS / f"{ENVIRONMENTS[0]}.yaml"
    with pytest.raises(pins.PinError, match="unknown environment 'qa'"):
        pins.path("qa")


# --- the comparison and GitHub's records ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "regressed"),
    [
        ({"accuracy": 0.90, "rmse": 5.0}, []),  # equal
        ({"accuracy": 0.883, "rmse": 5.09}, []),  # worse, within 2%
        ({"accuracy": 0.87, "rmse": 5.0}, ["accuracy"]),  # a `min` metric below tolerance
        ({"accuracy": 0.95, "rmse": 5.2}, ["rmse"]),  # a `max` metric above it
    ],
)
def test_a_regression_is_a_gated_metric_beyond_the_tolerance(ours: dict[str, float], regressed: list[str]) -> None:
    theirs = {"accuracy": 0.90, "rmse": 5.0}
    thresholds = {"tolerance": 0.02, "min": {"accuracy": 0.9}, "max": {"rmse": 10.0}}
    assert compare.regressions(ours, theirs, thresholds) == regressed


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Merge pull request #12 from org/promote/staging/model-v1", 12),
        ("Promote model v1 to staging", None),
        ('Revert "Merge pull request #12 from org/branch"', None),
    ],
)
def test_a_merged_pull_request_is_recognised_by_its_merge_commit(subject: str, number: int | None) -> None:
    assert gitops.pull_request(subject) == number


def test_approvers_are_those_whose_latest_review_approves() -> None:
    reviews = [
        {"user": {"login": "alice"}, "state": "APPROVED"},
        {"user": {"login": "bob"}, "state": "APPROVED"},
        {"user": {"login": "bob"}, "state": "CHANGES_REQUESTED"},
        {"user": {"login": "carol"}, "state": "COMMENTED"},
    ]
    assert github.approvals(reviews) == (["alice"], ["alice", "bob", "carol"])


# --- gate decisions and the audit, on a real git history -------------------------------------------


class History:
    """A repository whose default branch changes pins only as GitHub merges pull requests (or by a push)."""

    def __init__(self, path: Path) -> None:
        self.path, self.prs = path, 0

    def git(self, *args: str) -> str:
        env = os.environ | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True).stdout

    def merge(self, p: pins.Pin) -> str:
        """A promotion branch with its trailers, merged as GitHub's merge button does."""
        self.prs += 1
        branch = f"promote/{p.environment}/{self.prs}"
        self.git("switch", "--quiet", "--create", branch, DEFAULT_BRANCH)
        pins.write(p, self.path)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", f"Promote\n\nEnvironment: {p.environment}\n")
        self.git("switch", "--quiet", DEFAULT_BRANCH)
        self.git("merge", "--no-ff", "--quiet", "-m", f"Merge pull request #{self.prs} from org/{branch}", branch)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, p: pins.Pin) -> None:
        pins.write(p, self.path)
        self.git("commit", "--quiet", "--all", "-m", "Edit a pin by hand")


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[History]:
    repo = History(tmp_path)
    repo.git("init", "--quiet", "--initial-branch", DEFAULT_BRANCH)
    (tmp_path / "params.yaml").write_text(PARAMS)
    repo.git("add", "--all")
    repo.git("commit", "--quiet", "-m", "Start")
    monkeypatch.chdir(tmp_path)  # the release code works on the repository it is run in
    yield repo


def verdicts(checks: list[gates.Check]) -> dict[str, bool]:
    return {check.name: check.passed for check in checks}


def test_production_takes_only_what_staging_runs(history: History) -> None:
    history.merge(pin("staging", "a"))
    assert verdicts(gates.gates(pin("production", "a"))) == {"pin": True, "order": True, "thresholds": True}
    refused = gates.gates(pin("production", "b", version="2"))
    assert verdicts(refused)["order"] is False
    assert "staging runs version 1" in next(c.detail for c in refused if c.name == "order")


def test_a_rollback_takes_only_a_model_production_ran(history: History) -> None:
    history.merge(pin("staging", "a"))
    history.merge(pin("production", "a"))
    assert verdicts(gates.gates(pin("production", "a", promoted_from="rollback")))["order"] is True
    assert verdicts(gates.gates(pin("production", "9", promoted_from="rollback")))["order"] is False


def test_a_failed_threshold_fails_the_gates(history: History) -> None:
    checks = gates.gates(pin("staging", "a", accuracy=False, f1_macro=True))
    assert verdicts(checks)["thresholds"] is False
    assert "failed: accuracy" in next(c.detail for c in checks if c.name == "thresholds")


def test_the_audit_lists_each_merged_change_with_its_pull_request_and_approvers(history: History) -> None:
    merge = history.merge(pin("staging", "a"))
    gitops.add_note(merge, {"approvers": ["alice"]})
    (entry,) = audit.history("staging")
    assert (entry.environment, entry.kind, entry.version) == ("staging", "promotion", "1")
    assert (entry.pull_request, entry.approvers, entry.commit) == (1, ["alice"], merge)
    assert entry.artifact_sha256 == "a" * 64


def test_audit_verify_names_a_direct_push_and_a_merge_without_a_record(history: History) -> None:
    history.merge(pin("staging", "a"))  # merged, but never deployed: no note
    history.push(pin("staging", "b", version="2"))
    problems = [v for v in audit.verify() if "cannot be retrieved" not in v]  # no DVC remote here
    assert any("without a merged pull request (a direct push)" in v for v in problems), problems
    assert any("PR #1 has no deployment record" in v for v in problems), problems
