"""Promotion by pull request, deploy, rollback and audit, with the baked repository's own workflows.

A team clone pushes to a bare origin; tests/github.py plays GitHub (pull requests with merge refs,
merge, squash and rebase merges, the REST API behind `gh`), and tests/workflows/ runs
promote.yml for each pull request and deploy.yml for each push, in checkouts made as actions/checkout
makes them. Deploys go to the `local` target (a repository variable), and each is stopped by its PID.
Merge times are set, so that `audit at` can be asked about instants between them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from . import servers
from .github import GitHub, PullRequest
from .workflows.jobs import JobResult
from .workflows.runner import for_project, ok

pytestmark = pytest.mark.e2e
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REVIEWS = [
    {"user": {"login": "alice"}, "state": "APPROVED"},
    {"user": {"login": "bob"}, "state": "COMMENTED"},
]
BRANCH = re.compile(r"(?:promote|rollback)/[\w./-]+")


class Team:
    """The team's clone, and what people and GitHub do with it."""

    def __init__(self, path: Path, env: dict[str, str], github: GitHub, project_env: dict[str, str]) -> None:
        self.path, self.env, self.github, self.project_env = path, env, github, project_env
        self.deploys: list[dict[str, Any]] = []

    def run(self, *cmd: str, check: bool = True, when: datetime | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
        result = subprocess.run(cmd, cwd=self.path, env=env, capture_output=True, text=True, timeout=900)
        if check:
            assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def make(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("make", *args, check=check)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("uv", "run", "--no-sync", "python", "-m", "penguin_species", *args, check=check)

    def sync(self) -> None:
        self.run("git", "switch", "--quiet", "main")
        self.run("git", "pull", "--quiet", "--ff-only", "origin", "main")
        self.run("git", "fetch", "--quiet", "--tags", "origin")

    def workflow(self, name: str, label: str) -> Any:
        # The DVC remote is a folder beside the origin: jobs run beside it, as self-hosted runners sharing
        # its disk would (test_team_stack.py runs the workflows against S3 instead).
        return for_project(self.path, self.project_env, label, workflow=name, github=self.github,
                           variables={"DEPLOY_TARGET": "local"}, beside_origin=True)  # fmt: skip

    def propose(self, verb: str, environment: str, *options: str) -> PullRequest:
        """`make promote` (or rollback) pushes a branch; the team opens its pull request."""
        out = self.make(verb, f"ENV={environment}", *options).stdout
        branch = BRANCH.search(out)
        assert branch, out
        title = self.run("git", "log", "-1", "--format=%s", f"origin/{branch.group(0)}").stdout.strip()
        return self.github.open_pull_request(branch.group(0), title)

    def gates(self, pull: PullRequest, label: str, jobs: set[str] | None = None) -> dict[str, JobResult]:
        """promote.yml for the pull request's merge ref; `jobs` limits it to some of its jobs."""
        return self.workflow("promote.yml", label).run_all(self.github.pull_request_event(pull), only=jobs)

    def deploy(self, event: Any, label: str) -> dict[str, JobResult]:
        """deploy.yml for an event; what each job served locally is stopped by its PID, the record kept."""
        results = self.workflow("deploy.yml", label).run_all(event)
        for name, result in results.items():
            state = result.workspace and result.workspace / ".deploy" / f"{name}.json"
            if state and state.exists():
                pid = json.loads(state.read_text())["pid"]
                servers.stop(pid)
                with pytest.raises(ProcessLookupError):
                    os.killpg(pid, 0)  # nothing of the deployed server is left
        return results


@pytest.fixture(scope="module")
def team(trained: tuple[Path, dict[str, str]]) -> Team:
    project, env = trained
    origin = project.parent / "origin.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(project), str(origin)], check=True)
    clone = project.parent / "penguin-species-team"  # beside the local DVC remote, as the project is
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True)
    team_env = {k: v for k, v in env.items() if k != "BENTOML_HOME"} | {
        "BENTOML_HOME": str(clone.parent / "team-bentoml")
    }
    team = Team(clone, team_env, GitHub(origin, project.parent / "promotion-github"), env)
    team.make("setup")
    team.run("uv", "run", "--no-sync", "dvc", "pull", "--quiet")
    return team


def retrain(team: Team, when: datetime, **params: int) -> None:
    path = team.path / "params.yaml"
    text = path.read_text()
    for name, value in params.items():
        text = re.sub(rf"(?m)^(\s+{name}:) \S+", rf"\g<1> {value}", text, count=1)
    path.write_text(text)
    team.make("repro")
    team.run("uv", "run", "--no-sync", "dvc", "push", "--quiet")
    team.run("git", "add", "--all")
    team.run("git", "commit", "--quiet", "-m", f"Retrain with {params}", when=when)
    team.run("git", "push", "--quiet", "origin", "main")


@pytest.fixture(scope="module")
def history(team: Team) -> dict[str, Any]:
    """Staging v1, production v1 (squash), retrain v2, staging v2 (rebase), production v2, a rollback whose
    deploy run was cancelled and is reconciled by a manual run."""
    seen: dict[str, Any] = {}

    def ship(verb: str, environment: str, hour: int, how: str = "merge", full: bool = False) -> PullRequest:
        """`make promote`, its pull request's gates (the acceptance job too when `full`), review, merge."""
        team.sync()
        pull = team.propose(verb, environment)
        jobs = ("gates", "acceptance") if full else ("gates",)
        seen[f"gates {verb} {environment} {hour}"] = ok(team.gates(pull, f"{environment}-{hour}", set(jobs)), *jobs)
        team.github.review(pull, REVIEWS)
        seen[f"push {hour}"] = team.github.merge(pull, how, when=(T0 + timedelta(hours=hour)).isoformat())
        return pull

    seen["v1"] = current_version(team)
    ship("promote", "staging", 1, full=True)
    seen["deploy staging v1"] = ok(team.deploy(seen["push 1"], "deploy-1"), "plan", "staging")
    ship("promote", "production", 2, how="squash")
    seen["deploy production v1"] = ok(team.deploy(seen["push 2"], "deploy-2"), "plan", "production")
    team.sync()
    retrain(team, T0 + timedelta(hours=3), max_iter=150)
    seen["v2"] = current_version(team)
    assert seen["v2"] != seen["v1"]
    seen["shortcut"] = team.make("promote", "ENV=production", f"VERSION={seen['v2'][:7]}", check=False)
    ship("promote", "staging", 4, how="rebase")
    seen["deploy staging v2"] = ok(team.deploy(seen["push 4"], "deploy-4"), "plan", "staging")
    ship("promote", "production", 5)
    seen["deploy production v2"] = ok(team.deploy(seen["push 5"], "deploy-5"), "plan", "production")
    ship("rollback", "production", 6, full=True)
    # GitHub cancelled the rollback's pending deploy run; a manual run reconciles.
    seen["reconciled"] = ok(team.deploy(team.github.dispatch_event(), "deploy-reconcile"), "plan", "production")
    seen["nothing pending"] = ok(team.deploy(team.github.dispatch_event(), "deploy-again"), "plan")
    team.sync()
    return seen


def test_each_deploy_serves_the_pin_and_keeps_its_record(team: Team, history: dict[str, Any]) -> None:
    staging = history["deploy staging v1"]["staging"].output
    assert "deployed; /metadata matches the pin" in staging
    team.run("git", "fetch", "--quiet", "origin", "refs/notes/deployments:refs/notes/deployments")
    tags = team.run("git", "tag", "--list", "penguin_species#*").stdout.split()
    assert sorted(tags) == sorted(
        ["penguin_species#staging#1", "penguin_species#staging#2", "penguin_species#production#1",
         "penguin_species#production#2", "penguin_species#production#3"]
    )  # fmt: skip
    records = [json.loads(line) for tag in tags for line in
               team.run("git", "notes", "--ref=deployments", "show", f"{tag}^{{commit}}").stdout.splitlines() if line]  # fmt: skip
    assert len(records) == 5  # five deploys in a row: none lost its record
    first = next(r for r in records if r["tag"] == "penguin_species#staging#1")
    assert first["pull_request"] == 1 and first["approvers"] == ["alice"] and first["reviewers"] == ["alice", "bob"]
    # The reviews were read from each merged pull request, by the plan job, with a token.
    reviews = [c for c in team.github.calls() if "/reviews" in " ".join(c["args"])]
    assert {re.search(r"pulls/(\d+)/reviews", " ".join(c["args"])).group(1) for c in reviews} == {
        "1",
        "2",
        "3",
        "4",
        "5",
    }  # type: ignore[union-attr]
    assert all(c["token"] for c in reviews)


def test_the_gates_report_on_the_pull_request(team: Team, history: dict[str, Any]) -> None:
    gates = history["gates promote staging 1"]["gates"]
    assert f"## Promote penguin_species version {history['v1']} to staging: pass" in gates.output
    comments = team.github.state["comments"]["1"]
    assert len(comments) == 1 and comments[0]["body"].startswith("<!-- promotion-gates -->\n## Promote")


def test_promotion_commits_carry_trailers(team: Team, history: dict[str, Any]) -> None:
    body = team.run(
        "git",
        "log",
        "-1",
        "--no-merges",
        "--format=%B",
        f"--grep=Promote penguin_species {history['v2']} to production",
        "origin/main",
    ).stdout
    trailers = ("Model: penguin_species", f"Model-Version: {history['v2']}", "Environment: production")
    for trailer in (*trailers, "Promoted-From: staging"):
        assert trailer in body
    assert "Artifact-Sha256: " in body and "Data-Version: " in body


def test_production_refuses_a_model_staging_does_not_run(history: dict[str, Any]) -> None:
    refused = history["shortcut"]
    assert refused.returncode != 0
    assert f"order: staging runs version {history['v1']}" in refused.stderr


def test_a_cancelled_deploy_is_reconciled_by_the_next_run(history: dict[str, Any]) -> None:
    assert history["reconciled"]["plan"].outputs["production"] == "true"
    assert history["nothing pending"]["production"].skipped and history["nothing pending"]["staging"].skipped


def test_audit_at_answers_for_every_instant(team: Team, history: dict[str, Any]) -> None:
    def version_at(hours: float) -> str | None:
        when = (T0 + timedelta(hours=hours)).isoformat()
        result = team.cli("audit", "at", when, "--env", "production", "--json", check=False)
        if result.returncode != 0:  # only for the one answer that says nothing was pinned, never a crash
            assert f"audit: nothing was pinned in production at {when}" in result.stdout, result.stdout + result.stderr
            return None
        return json.loads(result.stdout)["entry"]["version"]

    assert version_at(0.5) is None
    assert version_at(1.5) is None  # staging only
    v1, v2 = history["v1"], history["v2"]
    assert version_at(2.5) == v1
    assert version_at(4.5) == v1
    assert version_at(5.5) == v2
    assert version_at(7) == v1  # the rollback
    history_md = team.make("audit").stdout
    assert "| rollback |" in history_md and "#5" in history_md and "alice" in history_md
    assert "direct push" not in history_md  # the squash and the rebase merges are reviewed pull requests


def test_report_and_performance_stage_compare_against_the_production_pin(team: Team, history: dict[str, Any]) -> None:
    """With production.yaml pinned, the report and the performance stage both run the comparison."""
    team.make("report")
    report = (team.path / "build/report.md").read_text()
    expected = f"Against production, version {history['v1']} (deploy/environments/production.yaml): no regression"
    assert expected in report, report
    assert "none of which either model trained on" in report
    stage = team.run("uv", "run", "--no-sync", "pytest", "tests/performance", "-rs", "-p", "no:cacheprovider")
    team.run("git", "checkout", "--", "reports")  # the stage rewrote its latency report: leave the clone clean
    assert "passed" in stage.stdout and "skipped" not in stage.stdout, stage.stdout[-2000:]


def craft(team: Team, branch: str, environment: str, source: str, promoted_from: str, *, edit: str = "") -> PullRequest:
    """A pull request with a pin made by hand: the model recorded at `source`, evaluated today."""
    team.run("git", "switch", "--quiet", "--create", branch, "origin/main")
    code = f"""
from penguin_species.contract.identity import Lineage
from penguin_species.release.adapters import gitrepo
from penguin_species.release.promotion import gates, pins
lineage = Lineage.model_validate_json(gitrepo.show({source!r}, "models/lineage.json"))
pin = pins.Pin(environment={environment!r}, promoted_from={promoted_from!r}, source_commit={source!r}, model=lineage,
               evaluation=gates.evaluate_pin(lineage, {source!r}))
{edit}
pins.write(pin)  # as `make promote` does: the pin alone
"""
    team.run("uv", "run", "--no-sync", "python", "-c", code)
    team.run("git", "add", "deploy/environments")
    team.run("git", "commit", "--quiet", "-m", f"Crafted: {branch}\n\nEnvironment: {environment}\n", "--",
             "deploy/environments")  # fmt: skip
    team.run("git", "push", "--quiet", "origin", branch)
    team.run("git", "switch", "--quiet", "main")
    return team.github.open_pull_request(branch, branch)


def refused(team: Team, pull: PullRequest, label: str, reason: str) -> None:
    result = team.gates(pull, label, {"gates"})["gates"]
    assert not result.ok, result.output[-2000:]
    assert reason in result.output, result.output[-3000:]
    assert "Traceback" not in result.output


def current_version(team: Team) -> str:
    """The version of the model the clone's commit records: its artifact digest's first 12 characters."""
    return str(json.loads((team.path / "models/lineage.json").read_text())["artifact"]["sha256"][:12])


def lineage_commit(team: Team, version: str) -> str:
    log = team.run("git", "log", "--format=%H", "origin/main", "--", "models/lineage.json").stdout.split()
    for sha in log:
        record = json.loads(team.run("git", "show", f"{sha}:models/lineage.json").stdout)
        if record["artifact"]["sha256"].startswith(version):
            return sha
    raise AssertionError(f"version {version} is not recorded on main")


def test_each_gate_refuses_a_pull_request_that_breaks_it(team: Team, history: dict[str, Any]) -> None:
    """Staging runs v2 and production v1 (the rollback): each pull request below breaks one gate."""
    v1, v2 = lineage_commit(team, history["v1"]), lineage_commit(team, history["v2"])
    order = craft(team, "break/order", "production", v1, "staging")
    refused(team, order, "refuse-order",
            f"staging runs version {history['v2']} on origin/main; production only takes what staging runs")  # fmt: skip
    forged = "pin = pin.model_copy(update={'model': pin.model.model_copy(update={'metrics': {'accuracy': 1.0}})})"
    refused(team, craft(team, "break/record", "staging", v2, "candidate", edit=forged), "refuse-record",
            "differs from models/lineage.json")  # fmt: skip
    back = team.gates(craft(team, "allow/rollback", "staging", v1, "rollback"), "allow-rollback", {"gates"})["gates"]
    assert back.ok, back.failure()  # the control: staging ran v1, so it may go back to it

    # Two pins in one pull request; a pin with the thresholds changed beside it.
    for branch, start, path, change in [
        ("break/two-pins", "break/order", "deploy/environments/staging.yaml", lambda t: t + "# edited\n"),
        ("break/beside", "break/record", "params.yaml", lambda t: t.replace("accuracy: 0.90", "accuracy: 0.10")),
    ]:
        team.run("git", "switch", "--quiet", "--create", branch, f"origin/{start}")
        (team.path / path).write_text(change((team.path / path).read_text()))
        team.run("git", "commit", "--quiet", "-am", f"Change {path} too")
        team.run("git", "push", "--quiet", "origin", branch)
        team.run("git", "switch", "--quiet", "main")
        pull = team.github.open_pull_request(branch)
        refused(team, pull, f"refuse-{branch.split('/')[1]}", "exactly one pin file and nothing else")

    # A worse model (fewer boosting rounds) meets the thresholds but trails what staging runs; production
    # never ran it, so it cannot be a rollback there.
    retrain(team, T0 + timedelta(hours=8), max_iter=5)
    v3 = lineage_commit(team, current_version(team))
    refused(team, craft(team, "break/regression", "staging", v3, "candidate"), "refuse-regression", "worse on accuracy")
    refused(team, craft(team, "break/never-ran", "production", v3, "rollback"), "refuse-never-ran",
            "it never ran in production")  # fmt: skip

    # Thresholds raised on the default branch refuse a promotion that met the old ones.
    params = team.path / "params.yaml"
    params.write_text(params.read_text().replace("accuracy: 0.90", "accuracy: 0.999"))
    team.run("git", "commit", "--quiet", "-am", "Raise the accuracy threshold")
    team.run("git", "push", "--quiet", "origin", "main")
    refused(team, craft(team, "break/thresholds", "production", v2, "staging"), "refuse-thresholds",
            "| thresholds | FAIL | failed: accuracy")  # fmt: skip


def test_audit_verify_passes_then_names_a_direct_push_and_a_tampered_artifact(
    team: Team, history: dict[str, Any]
) -> None:
    assert team.cli("audit", "verify").returncode == 0, team.cli("audit", "verify", check=False).stdout

    # An auditor's clone: no DVC cache, only git (the notes are fetched by `audit`) and the DVC remote.
    auditor = team.path.parent / "penguin-species-auditor"
    subprocess.run(["git", "clone", "--quiet", str(team.github.origin), str(auditor)], check=True)
    audit = [str(team.path / ".venv/bin/python"), "-m", "penguin_species", "audit", "verify", "--json"]
    clean = subprocess.run(audit, cwd=auditor, env=team.env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    pin = team.path / "deploy/environments/production.yaml"
    pin.write_text(pin.read_text().replace("promoted_from: rollback", "promoted_from: staging"))
    team.run("git", "commit", "--quiet", "-am", "Edit the production pin by hand", when=T0 + timedelta(hours=9))
    team.run("git", "push", "--quiet", "origin", "main")
    subprocess.run(["git", "pull", "--quiet"], cwd=auditor, check=True)
    # Tamper with version 1's artifact in the DVC remote.
    source = lineage_commit(team, history["v1"])
    lock = team.run("git", "show", f"{source}:dvc.lock").stdout
    artifact_md5 = lock.split("path: models/model.joblib")[1].split("md5: ")[1].split()[0]
    stored = team.path.parent / "penguin-species-dvc-storage" / "files" / "md5" / artifact_md5[:2] / artifact_md5[2:]
    original = stored.read_bytes()
    stored.chmod(0o644)  # DVC stores files read-only
    stored.write_bytes(original + b"tampered")
    try:
        broken = subprocess.run(audit, cwd=auditor, env=team.env, capture_output=True, text=True)
        assert broken.returncode == 1
        violations = json.loads(broken.stdout)["violations"]
        assert any("without a merged pull request (a direct push)" in v for v in violations), violations
        assert any(
            f"version {history['v1']}" in v and ("does not match" in v or "cannot be retrieved" in v)
            for v in violations
        ), violations
        # A pull request rolling staging back to v1, whose stored artifact is now tampered with, is refused.
        # DVC may notice the corruption itself ("cannot be retrieved") before the digest check does.
        refused(team, rollback_to_first(team, "staging"), "refuse-tampered", f"models/model.joblib at {source[:12]}")
    finally:
        stored.write_bytes(original)  # the bake's remote serves the tests that run after this one
    shutil.rmtree(auditor)


def rollback_to_first(team: Team, environment: str) -> PullRequest:
    """A pull request restoring the environment's first pin as a rollback, copied as it was (not re-evaluated)."""
    path = f"deploy/environments/{environment}.yaml"
    first = team.run("git", "log", "--format=%H", "origin/main", "--", path).stdout.split()[-1]
    text = team.run("git", "show", f"{first}:{path}").stdout.replace(
        "promoted_from: candidate", "promoted_from: rollback"
    )
    team.run("git", "switch", "--quiet", "--create", f"break/tampered-{environment}", "origin/main")
    (team.path / path).write_text(text)
    team.run(
        "git", "commit", "--quiet", "-am", f"Roll {environment} back to its first model\n\nEnvironment: {environment}\n"
    )
    team.run("git", "push", "--quiet", "origin", f"break/tampered-{environment}")
    team.run("git", "switch", "--quiet", "main")
    return team.github.open_pull_request(f"break/tampered-{environment}")


@pytest.mark.parametrize(
    ("breakage", "field"),
    [
        (
            lambda text: re.sub(r"(?m)^(\s+)sha256: [0-9a-f]{64}$", r"\1sha256: not-a-digest", text, count=1),
            "model.artifact.sha256",
        ),
        (lambda text: text + "colour: blue\n", "colour"),
        (lambda text: text.replace("environment: staging", "environment: prod"), "environment"),
    ],
    ids=["bad digest", "unknown field", "unknown environment"],
)
def test_a_malformed_pin_is_refused_naming_the_field(
    team: Team, history: dict[str, Any], breakage: Any, field: str
) -> None:
    pin = team.path / "deploy/environments/staging.yaml"
    original = pin.read_text()
    pin.write_text(breakage(original))
    try:
        result = team.make("check-pins", check=False)
    finally:
        pin.write_text(original)
    assert result.returncode != 0
    assert f"error: deploy/environments/staging.yaml: {field}" in result.stderr
    assert "Traceback" not in result.stderr
