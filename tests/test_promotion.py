"""Promotion by pull request, deploy, rollback and audit, in a baked repository with a bare origin.

Pull requests are simulated as GitHub merges them: a branch pushed to the origin, merged with --no-ff
and a "Merge pull request #N" message; the reviews come from a fixture shaped like GitHub's API.
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

pytestmark = pytest.mark.e2e
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REVIEWS = [
    {"user": {"login": "alice"}, "state": "APPROVED"},
    {"user": {"login": "bob"}, "state": "COMMENTED"},
]


class Repo:
    """The team's clone, with helpers that do what people and GitHub do."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path, self.env = path, env
        self.pr = 0

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

    def merge_pull_request(self, branch: str, when: datetime) -> None:
        """The PR's gates run on its branch against main; then GitHub merges it with a merge commit."""
        self.run("git", "switch", "--quiet", branch)
        gates = self.make("gate", "BASE=main", check=False)
        assert gates.returncode == 0, gates.stdout + gates.stderr
        self.run("git", "switch", "--quiet", "main")
        self.pr += 1
        message = f"Merge pull request #{self.pr} from local/{branch}"
        self.run("git", "merge", "--no-ff", "--quiet", "-m", message, branch, when=when)
        self.run("git", "push", "--quiet", "origin", "main")

    def deploy(self, environment: str, reviews: Path) -> dict[str, Any]:
        out = self.make("deploy", f"ENV={environment}", f"REVIEWS={reviews}")
        record = json.loads(out.stdout[out.stdout.index("{") :])
        state = json.loads((self.path / ".deploy" / f"{environment}.json").read_text())
        self.make("undeploy", f"ENV={environment}")
        with pytest.raises(ProcessLookupError):
            os.killpg(state["pid"], 0)  # the deployed server is gone, by its PID
        return record


@pytest.fixture(scope="module")
def repo(trained: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Repo:
    project, env = trained
    origin = project.parent / "origin.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(project), str(origin)], check=True)
    clone = project.parent / "penguin-species-team"  # beside the local DVC remote, as the project is
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True)
    team = Repo(
        clone,
        {k: v for k, v in env.items() if k != "BENTOML_HOME"} | {"BENTOML_HOME": str(clone.parent / "team-bentoml")},
    )
    team.make("setup")
    team.run("uv", "run", "--no-sync", "dvc", "pull", "--quiet")
    return team


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("github") / "reviews.json"
    path.write_text(json.dumps(REVIEWS))
    return path


def retrain(repo: Repo, when: datetime) -> None:
    params = repo.path / "params.yaml"
    params.write_text(params.read_text().replace("max_iter: 100", "max_iter: 150"))
    repo.make("repro")
    repo.run("uv", "run", "--no-sync", "dvc", "push", "--quiet")
    repo.run("git", "add", "--all")
    repo.run("git", "commit", "--quiet", "-m", "Retrain with more boosting iterations", when=when)
    repo.run("git", "push", "--quiet", "origin", "main")


@pytest.fixture(scope="module")
def history(repo: Repo, reviews: Path) -> dict[str, Any]:
    """Staging v1, production v1, retrain v2, a refused shortcut, staging v2, production v2, rollback."""

    def ship(verb: str, environment: str, version: int, hour: int) -> dict[str, Any]:
        """The whole path of one change: the command, its pull request merged at T0 + hour, the deploy."""
        repo.make(verb, f"ENV={environment}")
        repo.merge_pull_request(f"{verb}/{environment}/penguin_species-v{version}", T0 + timedelta(hours=hour))
        return repo.deploy(environment, reviews)

    seen: dict[str, Any] = {}
    seen["staging v1"] = ship("promote", "staging", 1, hour=1)
    seen["production v1"] = ship("promote", "production", 1, hour=2)
    retrain(repo, T0 + timedelta(hours=3))
    seen["shortcut"] = repo.make("promote", "ENV=production", "VERSION=2", check=False)
    ship("promote", "staging", 2, hour=4)
    seen["production v2"] = ship("promote", "production", 2, hour=5)
    seen["rollback"] = ship("rollback", "production", 1, hour=6)
    return seen


def test_a_deploy_serves_the_pin_and_records_it(repo: Repo, history: dict[str, Any]) -> None:
    record = history["staging v1"]
    assert record["result"] == "deployed; /metadata matches the pin"
    assert record["pull_request"] == 1
    assert record["approvers"] == ["alice"] and record["reviewers"] == ["alice", "bob"]
    assert record["tag"] == "penguin_species#staging#1"
    tags = repo.run("git", "ls-remote", "--tags", "origin").stdout
    assert "refs/tags/penguin_species#production#3" in tags  # v1, v2, then the rollback
    notes = repo.run("git", "ls-remote", "origin", "refs/notes/deployments").stdout
    assert notes.strip()


def test_promotion_commits_carry_trailers(repo: Repo, history: dict[str, Any]) -> None:
    body = repo.run("git", "log", "-1", "--format=%B", "origin/promote/production/penguin_species-v2").stdout
    for trailer in ("Model: penguin_species", "Model-Version: 2", "Environment: production", "Promoted-From: staging"):
        assert trailer in body
    assert "Artifact-Sha256: " in body and "Data-Version: " in body


def test_production_refuses_a_model_staging_does_not_run(history: dict[str, Any]) -> None:
    refused = history["shortcut"]
    assert refused.returncode != 0
    assert "order: staging runs version 1" in refused.stderr


def test_audit_at_answers_for_every_instant(repo: Repo, history: dict[str, Any]) -> None:
    def version_at(hours: float) -> str | None:
        when = (T0 + timedelta(hours=hours)).isoformat()
        result = repo.cli("audit", "at", when, "--env", "production", "--json", check=False)
        return json.loads(result.stdout)["entry"]["version"] if result.returncode == 0 else None

    assert version_at(0.5) is None
    assert version_at(1.5) is None  # staging only
    assert version_at(2.5) == "1"
    assert version_at(4.5) == "1"
    assert version_at(5.5) == "2"
    assert version_at(7) == "1"  # the rollback
    history_md = repo.make("audit").stdout
    assert "| rollback |" in history_md and "#5" in history_md and "alice" in history_md


def test_audit_verify_passes_then_names_a_direct_push_and_a_tampered_artifact(
    repo: Repo, history: dict[str, Any]
) -> None:
    assert repo.cli("audit", "verify").returncode == 0

    # An auditor's clone: no DVC cache, only git (with the notes) and the DVC remote.
    auditor = repo.path.parent / "penguin-species-auditor"
    subprocess.run(["git", "clone", "--quiet", str(repo.path.parent / "origin.git"), str(auditor)], check=True)
    subprocess.run(["git", "fetch", "--quiet", "origin", "refs/notes/*:refs/notes/*"], cwd=auditor, check=True)
    audit = [str(repo.path / ".venv/bin/python"), "-m", "penguin_species", "audit", "verify", "--json"]
    clean = subprocess.run(audit, cwd=auditor, env=repo.env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    pin = repo.path / "deploy/environments/production.yaml"
    pin.write_text(pin.read_text().replace("promoted_from: rollback", "promoted_from: staging"))
    repo.run("git", "commit", "--quiet", "-am", "Edit the production pin by hand", when=T0 + timedelta(hours=7))
    repo.run("git", "push", "--quiet", "origin", "main")
    subprocess.run(["git", "pull", "--quiet"], cwd=auditor, check=True)
    # Tamper with version 1's artifact in the DVC remote.
    v1 = repo.run(
        "git", "show", "origin/promote/production/penguin_species-v1:deploy/environments/production.yaml"
    ).stdout
    source = next(line.split(": ")[1] for line in v1.splitlines() if line.startswith("source_commit"))
    lock = repo.run("git", "show", f"{source}:dvc.lock").stdout
    artifact_md5 = lock.split("path: models/model.joblib")[1].split("md5: ")[1].split()[0]
    stored = repo.path.parent / "penguin-species-dvc-storage" / "files" / "md5" / artifact_md5[:2] / artifact_md5[2:]
    stored.chmod(0o644)  # DVC stores files read-only
    stored.write_bytes(stored.read_bytes() + b"tampered")

    broken = subprocess.run(audit, cwd=auditor, env=repo.env, capture_output=True, text=True)
    assert broken.returncode == 1
    violations = json.loads(broken.stdout)["violations"]
    assert any("without a merged pull request (a direct push)" in v for v in violations), violations
    assert any("version 1" in v and ("does not match" in v or "cannot be retrieved" in v) for v in violations), (
        violations
    )
    shutil.rmtree(auditor)


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
    repo: Repo, history: dict[str, Any], breakage: Any, field: str
) -> None:
    pin = repo.path / "deploy/environments/staging.yaml"
    original = pin.read_text()
    pin.write_text(breakage(original))
    try:
        result = repo.make("check-pins", check=False)
    finally:
        pin.write_text(original)
    assert result.returncode != 0
    assert f"error: deploy/environments/staging.yaml: {field}" in result.stderr
    assert "Traceback" not in result.stderr
