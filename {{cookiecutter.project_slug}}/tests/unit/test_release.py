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
import yaml

from {{ cookiecutter.package_name }}.contract.identity import Lineage
from {{ cookiecutter.package_name }}.contract.names import DEFAULT_BRANCH
from {{ cookiecutter.package_name }}.release import audit
from {{ cookiecutter.package_name }}.release.adapters import github, gitrepo
from {{ cookiecutter.package_name }}.release.deploy import records, rollout
from {{ cookiecutter.package_name }}.release.environments import ENVIRONMENTS, ORDER
from {{ cookiecutter.package_name }}.release.errors import ReleaseError
from {{ cookiecutter.package_name }}.release.promotion import compare, gates, pins, proposals
from tests.conftest import identity_record

PARAMS = "evaluate:\n  tolerance: 0.02\n  min:\n    accuracy: 0.9\n  max:\n    rmse: 10.0\n"


def lineage(sha: str) -> dict[str, Any]:
    return identity_record(sha * 64)


def pin(
    environment: str,
    sha: str,
    promoted_from: str | None = None,
    source: str = "f" * 40,
    **gates: bool,
) -> pins.Pin:
    return pins.Pin.model_validate(
        {
            "environment": environment,
            "promoted_from": promoted_from or ORDER[environment],
            "source_commit": source,
            "model": lineage(sha),
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
        (
            lambda d: d.update(environment="production"),
            "promoted_from: production takes a model from staging or rollback",
        ),
    ],
    ids=["bad digest", "unknown field", "unknown environment", "unknown origin", "missing field", "skips staging"],
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
        ("Promote model v1 to staging (#7)", 7),
        ("Promote model v1 to staging", None),
        ('Revert "Merge pull request #12 from org/branch"', None),
    ],
)
def test_a_merged_pull_request_is_recognised_by_its_merge_commit(subject: str, number: int | None) -> None:
    assert gitrepo.pull_request(subject) == number


@pytest.mark.parametrize(("answer", "number"), [([], None), ([{"number": 7, "merged_at": "2026-11-24T10:00:00Z"}], 7)])
def test_where_github_can_be_asked_it_decides_which_pull_request_merged_a_commit(
    answer: list[dict[str, Any]], number: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A direct push titled "… (#7)" is no pull request: GitHub lists none for it."""
    gh = tmp_path / "gh"
    gh.write_text(f"#!/bin/sh\necho '{json.dumps([answer])}'\n")
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GITHUB_REPOSITORY", "team/model")
    commit = gitrepo.Commit("a" * 40, [], 0, "Promote model aaaaaaaaaaaa to staging (#7)", "")
    assert github.merged_pull_request(commit) == number


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
    """A real git repository whose default branch changes pins as GitHub merges pull requests, or by a push.

    Kinder than GitHub: the merges are made here with git (GitHub's message formats, numbered 1, 2, …),
    there is no origin unless a test adds one, and nothing asks GitHub's API, so a rebase merge is known
    only by the deploy record a test writes. The Lastmile template's end-to-end tests merge through its
    GitHub stand-in and run the workflows instead.
    """

    def __init__(self, path: Path) -> None:
        self.path, self.prs = path, 0

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True, text=True).stdout

    def train(self, sha: str) -> str:
        """A commit on the default branch that records a model's lineage, as `make repro` and a commit do."""
        (self.path / "models").mkdir(exist_ok=True)
        (self.path / "models/lineage.json").write_text(json.dumps(lineage(sha)))
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", f"Train model {sha * 12}")
        return self.git("rev-parse", "HEAD").strip()

    def propose(self, p: pins.Pin, *also: str) -> str:
        """A promotion branch with its trailers (and any other files changed beside the pin)."""
        self.prs += 1
        branch = f"promote/{p.environment}/{self.prs}"
        self.git("switch", "--quiet", "--create", branch, DEFAULT_BRANCH)
        pins.write(p, self.path)
        for name in also:
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text("changed beside the pin\n")
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", f"Promote model {p.model.version}\n\nEnvironment: {p.environment}\n")
        return branch

    def merge(self, p: pins.Pin, how: str = "merge") -> str:
        """Merged as GitHub's button does: a merge commit, a squash (subject "… (#N)") or a rebase."""
        branch = self.propose(p)
        self.git("switch", "--quiet", DEFAULT_BRANCH)
        if how == "merge":
            self.git("merge", "--no-ff", "--quiet", "-m", f"Merge pull request #{self.prs} from org/{branch}", branch)
        elif how == "squash":
            self.git("merge", "--squash", "--quiet", branch)
            message = f"Promote model {p.model.version} (#{self.prs})\n\nEnvironment: {p.environment}\n"
            self.git("commit", "--quiet", "-m", message)
        else:
            self.git("rebase", "--quiet", branch)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, p: pins.Pin) -> None:
        pins.write(p, self.path)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", "Edit a pin by hand")


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[History]:
    """An empty history in a temporary folder, the working directory, isolated from the machine: its own
    git identity, and none of the GITHUB_* variables that would make the release code ask GitHub."""
    for role in ("AUTHOR", "COMMITTER"):  # commits and notes, whatever the machine's git configuration
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    repo = History(tmp_path)
    repo.git("init", "--quiet", "--initial-branch", DEFAULT_BRANCH)
    (tmp_path / "params.yaml").write_text(PARAMS)
    repo.git("add", "--all")
    repo.git("commit", "--quiet", "-m", "Start")
    monkeypatch.chdir(tmp_path)  # the release code works on the repository it is run in
    yield repo


def process_violations() -> list[str]:
    """What `audit verify` finds of how pins changed; the artifact checks need DVC, the end-to-end tests' part."""
    return [v for v in audit.verify() if ": version " not in v]


def verdicts(checks: list[gates.Check]) -> dict[str, bool]:
    return {check.name: check.passed for check in checks}


def promoted(history: History, environment: str, sha: str, **kwargs: Any) -> pins.Pin:
    """A pin whose source commit really records its model on the default branch."""
    return pin(environment, sha, source=history.train(sha), **kwargs)


def test_an_earlier_model_is_found_by_a_prefix_of_its_digest_on_the_default_branch(history: History) -> None:
    first = history.train("a")
    history.train("b")
    model, source = proposals.candidate("aaaaaaa")
    assert (model.artifact.sha256, source) == ("a" * 64, first)
    with pytest.raises(ReleaseError, match="at least 7 hex characters"):
        proposals.candidate("aaaa")
    with pytest.raises(ReleaseError, match=r"version ccccccc of \w+ is not recorded"):
        proposals.candidate("ccccccc")


def test_two_models_trained_in_two_clones_get_two_versions(history: History) -> None:
    """A counter per clone would call both "1"; a version is the artifact's digest prefix."""
    one, two = (Lineage.model_validate(lineage(sha)) for sha in ("a", "b"))
    assert (one.version, two.version) == ("a" * 12, "b" * 12)
    branches = {proposals.branch_name(pin("staging", sha), "promote") for sha in ("a", "b")}
    assert branches == {f"promote/staging/model-{'a' * 12}-1", f"promote/staging/model-{'b' * 12}-1"}


def test_production_takes_only_what_staging_runs(history: History) -> None:
    history.merge(promoted(history, "staging", "a"))
    ok = gates.gates(promoted(history, "production", "a"))
    assert verdicts(ok) == {"pin": True, "record": True, "order": True, "thresholds": True}
    refused = gates.gates(promoted(history, "production", "b"))
    assert verdicts(refused)["order"] is False
    assert "staging runs version aaaaaaaaaaaa" in next(c.detail for c in refused if c.name == "order")


def test_a_rollback_takes_only_a_model_the_environment_ran_and_is_not_blocked_by_thresholds(history: History) -> None:
    history.merge(promoted(history, "staging", "a"))
    history.merge(promoted(history, "staging", "b"))
    back = gates.gates(promoted(history, "staging", "a", promoted_from="rollback", accuracy=False))
    assert verdicts(back) == {"pin": True, "record": True, "order": True, "thresholds": True}
    assert "reported, not binding for a rollback: failed: accuracy" in next(
        c.detail for c in back if c.name == "thresholds"
    )
    never = gates.gates(promoted(history, "staging", "9", promoted_from="rollback"))
    assert verdicts(never)["order"] is False


def test_a_second_rollback_goes_further_back_not_to_the_model_just_rolled_back_from(history: History) -> None:
    for sha in ("a", "b", "c"):
        history.merge(promoted(history, "staging", sha))
    assert proposals.previous("staging", DEFAULT_BRANCH).model.artifact.sha256 == "b" * 64  # type: ignore[union-attr]
    history.merge(promoted(history, "staging", "b", promoted_from="rollback"))
    assert proposals.previous("staging", DEFAULT_BRANCH).model.artifact.sha256 == "a" * 64  # type: ignore[union-attr]
    history.merge(promoted(history, "staging", "a", promoted_from="rollback"))
    assert proposals.previous("staging", DEFAULT_BRANCH) is None


def test_a_failed_threshold_fails_the_gates(history: History) -> None:
    checks = gates.gates(promoted(history, "staging", "a", accuracy=False, f1_macro=True))
    assert verdicts(checks)["thresholds"] is False
    assert "failed: accuracy" in next(c.detail for c in checks if c.name == "thresholds")


def test_a_pin_whose_record_differs_from_its_source_commit_fails(history: History) -> None:
    forged = promoted(history, "staging", "a")
    forged = forged.model_copy(update={"model": forged.model.model_copy(update={"metrics": {"accuracy": 0.99}})})
    checks = gates.gates(forged)
    assert verdicts(checks)["record"] is False
    assert "differs from models/lineage.json" in next(c.detail for c in checks if c.name == "record")


def test_a_pin_whose_source_commit_is_not_on_the_default_branch_fails(history: History) -> None:
    history.git("switch", "--quiet", "--create", "experiment")
    source = history.train("a")
    history.git("switch", "--quiet", DEFAULT_BRANCH)
    checks = gates.gates(pin("staging", "a", source=source))
    assert "is not on" in next(c.detail for c in checks if c.name == "record")
    assert verdicts(gates.gates(pin("staging", "a", source="0" * 40)))["record"] is False  # not even in the repository


@pytest.mark.parametrize(
    "also",
    [("deploy/environments/production.yaml",), ("params.yaml",)],
    ids=["two pins", "a pin and the thresholds"],
)
def test_a_pull_request_that_changes_more_than_one_pin_is_refused(history: History, also: tuple[str, ...]) -> None:
    history.propose(promoted(history, "staging", "a"), *also)
    with pytest.raises(ReleaseError, match=f"exactly one pin file and nothing else.*; this one changes .*{also[0]}"):
        gates.scope(DEFAULT_BRANCH)


def test_a_pull_request_that_changes_one_pin_is_in_scope(history: History) -> None:
    expected = promoted(history, "staging", "a")
    history.propose(expected)
    assert gates.scope(DEFAULT_BRANCH) == expected


@pytest.mark.parametrize("promotion", [True, False], ids=["beside a pin", "alone"])
def test_a_pull_request_that_changes_deploy_k8s_is_refused_promotion_or_not(history: History, promotion: bool) -> None:
    """The gates are the base branch's code: a pull request cannot turn this off in its own CI."""
    if promotion:
        history.propose(promoted(history, "staging", "a"))
    else:
        history.git("switch", "--quiet", "--create", "swap-image", DEFAULT_BRANCH)
    (history.path / "deploy/k8s/production").mkdir(parents=True)
    (history.path / "deploy/k8s/production/deployment.yaml").write_text("image: someone/else@sha256:0\n")
    history.git("add", "--all")
    history.git("commit", "--quiet", "-m", "A better image")
    with pytest.raises(ReleaseError, match=r"may not change deploy/k8s/ \(deploy/k8s/production/deployment.yaml\)"):
        gates.scope(DEFAULT_BRANCH)


def test_a_pull_request_that_changes_no_pin_is_not_a_promotion(history: History) -> None:
    history.git("switch", "--quiet", "--create", "docs", DEFAULT_BRANCH)
    (history.path / "README.md").write_text("A change to the docs.\n")
    history.git("add", "--all")
    history.git("commit", "--quiet", "-m", "Document")
    assert gates.scope(DEFAULT_BRANCH) is None


@pytest.mark.parametrize("how", ["merge", "squash"])
def test_the_audit_lists_each_merged_change_with_its_pull_request_and_approvers(history: History, how: str) -> None:
    merge = history.merge(promoted(history, "staging", "a"), how)
    records.add(merge, {"environment": "staging", "approvers": ["alice"], "deployed_at": "1"})
    (entry,) = audit.history("staging")
    assert (entry.environment, entry.kind, entry.version) == ("staging", "promotion", "a" * 12)
    assert (entry.pull_request, entry.approvers, entry.commit) == (1, ["alice"], merge)
    assert entry.artifact_sha256 == "a" * 64
    assert not process_violations()


def test_a_rebase_merged_promotion_is_a_reviewed_change_by_its_deploy_record(history: History) -> None:
    merge = history.merge(promoted(history, "staging", "a"), "rebase")
    assert any("a direct push" in v for v in audit.verify())  # git alone cannot tell a rebase from a push
    records.add(merge, {"environment": "staging", "pull_request": 1, "approvers": [], "deployed_at": "1"})
    assert not process_violations()


def test_audit_verify_names_a_direct_push_and_a_merge_without_a_record(history: History) -> None:
    history.push(pin("staging", "b"))
    history.merge(promoted(history, "staging", "a"))  # merged, but never deployed: no note
    problems = process_violations()
    assert any("without a merged pull request (a direct push)" in v for v in problems), problems
    assert any("PR #1 has no deployment record" in v for v in problems), problems


def test_a_change_superseded_before_it_was_deployed_is_not_a_violation(history: History) -> None:
    """Deploys reconcile to the latest pin: a change merged while an earlier deploy queued never runs."""
    first = history.merge(promoted(history, "staging", "a"))
    records.add(first, {"environment": "staging", "approvers": [], "deployed_at": "1"})
    history.merge(promoted(history, "staging", "b"))  # its deploy run was cancelled
    last = history.merge(promoted(history, "staging", "c"))
    missing = [v for v in process_violations() if "has no deployment record" in v]
    assert len(missing) == 1 and missing[0].startswith(f"staging at {last[:12]}") and "PR #3" in missing[0], missing
    records.add(last, {"environment": "staging", "approvers": [], "deployed_at": "2"})
    assert not process_violations()


def test_two_deploys_from_two_clones_keep_both_records(
    history: History, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The second deploy's notes push is not rejected, and does not replace the first's record."""
    first = history.merge(promoted(history, "staging", "a"))
    origin = tmp_path_factory.mktemp("origin") / "origin.git"
    history.git("clone", "--quiet", "--bare", str(history.path), str(origin))
    history.git("remote", "add", "origin", str(origin))
    clone = History(tmp_path_factory.mktemp("clone"))
    clone.git("clone", "--quiet", str(origin), ".")
    records.add(first, {"environment": "staging", "deployed_at": "1", "tag": "one"})
    records.push()
    second = history.merge(promoted(history, "production", "a"))
    history.git("push", "--quiet", "origin", DEFAULT_BRANCH)
    os.chdir(clone.path)  # another runner, which has not seen the first record
    clone.git("pull", "--quiet", "origin", DEFAULT_BRANCH)
    records.add(second, {"environment": "production", "deployed_at": "2", "tag": "two"})
    records.push()
    os.chdir(history.path)
    records.fetch()
    assert [r["tag"] for r in records.all_records(first)] == ["one"]
    assert [r["tag"] for r in records.all_records(second)] == ["two"]


def test_a_deploy_run_for_another_branch_is_refused(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REF", "refs/heads/unreviewed")
    refused = f"deploys run from refs/heads/{DEFAULT_BRANCH} only; this run is for refs/heads/unreviewed"
    with pytest.raises(ReleaseError, match=refused):
        rollout.pending()
    with pytest.raises(ReleaseError, match="deploys run from"):
        rollout.deploy("staging", "local", None, push=False)


def test_the_deploy_workflow_has_a_job_per_environment() -> None:
    """A GitHub Environment's reviewers belong to a job: the one list of environments must have one job each."""
    from tests.conftest import ROOT

    workflow = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    jobs = {name: job for name, job in workflow["jobs"].items() if "environment" in job}
    assert {job["environment"]["name"] for job in jobs.values()} == set(ENVIRONMENTS) == set(jobs)
    assert {f"{e}{suffix}" for e in ENVIRONMENTS for suffix in ("", "_reviews")} == set(
        workflow["jobs"]["plan"]["outputs"]
    )
