"""The generated ci.yml, run job by job on this machine for a pull request and for a push to the default
branch, passes; each deliberate breakage, brought by a pull request, fails its stage."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .github import Event, GitHub
from .workflows.runner import Runner, for_project

pytestmark = pytest.mark.e2e


def runner(project: Path, env: dict[str, str], label: str, **options: Any) -> Runner:
    """ci.yml's jobs, run beside the bake's folder remote as self-hosted runners sharing its disk would;
    test_team_stack.py runs them as GitHub-hosted runners, which only reach the remote in S3."""
    return for_project(project, env, label, beside_origin=True, **options)


def pull_request(trained: tuple[Path, dict[str, str]], branch: str, label: str) -> tuple[GitHub, Event]:
    """A pull request from `branch` into the default branch, and the event its CI run gets."""
    project, _ = trained
    github = GitHub(project, project.parent / f"{label}-github")
    return github, github.pull_request_event(github.open_pull_request(branch))


def test_every_job_of_ci_yml_passes_for_a_pull_request(
    trained: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    project, env = trained

    def green(worktree: Path) -> None:
        (worktree / "README.md").write_text((worktree / "README.md").read_text() + "\nA change that breaks nothing.\n")

    commit_breakage(trained, "green", green)
    github, event = pull_request(trained, "break/green", "ci-green")
    results = runner(project, env, "ci-green", github=github).run_all(event)
    times = {name: round(r.seconds, 1) for name, r in results.items()}
    with capsys.disabled():  # the stage times belong in the CI log
        print(f"\nci.yml job wall times (s): {json.dumps(times)}")
    assert results.pop("register").skipped  # only on the default branch, with a team registry
    failed = [r.failure() for r in results.values() if not r.ok or r.skipped]
    assert not failed, "\n\n".join(failed)
    assert set(results) == {"lint", "unit", "data", "performance", "build", "acceptance", "report"}
    (comment,) = github.comments(github.pulls[1])  # one comment, the report, on the right pull request
    assert comment.startswith("<!-- model-report -->\n## Model report")
    assert (
        comment.removeprefix("<!-- model-report -->\n") == (results["report"].workspace / "build/report.md").read_text()
    )  # type: ignore[operator]
    # A push to the default branch runs the same stages without the report: test_team_stack.py runs one,
    # against S3 and an MLflow server, as a GitHub-hosted runner would.


def test_a_pull_request_from_a_fork_gets_a_notice_not_a_failed_report(trained: tuple[Path, dict[str, str]]) -> None:
    """A fork's token cannot comment: the report goes to the job summary and the job still passes."""
    project, env = trained
    commit_breakage(trained, "fork", lambda worktree: (worktree / "CHANGES.md").write_text("From a fork.\n"))
    github = GitHub(project, project.parent / "ci-fork-github")
    event = github.pull_request_event(github.open_pull_request("break/fork", fork=True))
    results = runner(project, env, "ci-fork", github=github).run_all(event, only={"performance", "report"})
    report = results["report"]
    assert report.ok, report.failure()
    assert "a pull request from a fork cannot be commented on" in report.output
    assert not [c for c in github.calls() if "comments" in " ".join(c["args"])]


def dvc(project: Path, worktree: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run([str(project / ".venv/bin/dvc"), *args], cwd=worktree, env=env, check=True, capture_output=True)


def commit_breakage(trained: tuple[Path, dict[str, str]], name: str, change: Callable[[Path], None]) -> str:
    """A branch off the trained main with one deliberate breakage, as a pull request would bring it."""
    project, env = trained
    worktree = project.parent / f"break-{name}"  # beside the local DVC remote, like the project itself
    subprocess.run(["git", "worktree", "add", "--quiet", "-b", f"break/{name}", str(worktree)], cwd=project, check=True)
    change(worktree)
    subprocess.run(["git", "add", "--all"], cwd=worktree, check=True)
    subprocess.run(["git", "commit", "--quiet", "-m", f"Break: {name}"], cwd=worktree, check=True, env=env)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=worktree, capture_output=True, text=True).stdout.strip()


def edit_raw_data(
    trained: tuple[Path, dict[str, str]], edit: Callable[[list[dict[str, str]]], None]
) -> Callable[[Path], None]:
    project, env = trained

    def change(worktree: Path) -> None:
        dvc(project, worktree, env, "pull", "--quiet", "data/raw/penguins.csv.dvc")
        path = worktree / "data/raw/penguins.csv"
        with path.open() as f:
            rows = list(csv.DictReader(f))
        edit(rows)
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        dvc(project, worktree, env, "add", "--quiet", "data/raw/penguins.csv")
        dvc(project, worktree, env, "push", "--quiet")

    return change


def set_cell(row: int, column: str, value: str) -> Callable[[list[dict[str, str]]], None]:
    def edit(rows: list[dict[str, str]]) -> None:
        rows[row][column] = value

    return edit


def shift(column: str, by: float) -> Callable[[list[dict[str, str]]], None]:
    def edit(rows: list[dict[str, str]]) -> None:
        for row in rows:
            if row[column] not in {"", "NA"}:
                row[column] = str(round(float(row[column]) + by, 1))

    return edit


DATA_BREAKAGES = {
    "wrong-type": (set_cell(9, "bill_length_mm", "forty"), ["bill_length_mm", "forty", "rows 10"]),
    "out-of-range": (set_cell(20, "flipper_length_mm", "2100"), ["flipper_length_mm", "in_range", "rows 21"]),
    "drifted-column": (shift("bill_depth_mm", 3.0), ["drifted", "| bill_depth_mm |", "DRIFT"]),
}


@pytest.mark.parametrize("name", list(DATA_BREAKAGES))
def test_bad_data_fails_the_data_stage_with_a_report(trained: tuple[Path, dict[str, str]], name: str) -> None:
    edit, expected = DATA_BREAKAGES[name]
    commit_breakage(trained, name, edit_raw_data(trained, edit))
    github, event = pull_request(trained, f"break/{name}", f"ci-{name}")
    result = runner(*trained, f"ci-{name}", github=github).run_job("data", event)
    assert not result.ok
    assert result.steps[-1].name == "make test-data", result.failure()
    for fragment in expected:
        assert fragment in result.output, result.failure()
    assert "Traceback" not in result.steps[-1].output


def test_a_degraded_model_fails_the_performance_stage(trained: tuple[Path, dict[str, str]]) -> None:
    def degrade(worktree: Path) -> None:
        params = worktree / "params.yaml"
        text = (
            params.read_text()
            .replace("learning_rate: 0.1", "learning_rate: 0.0001")
            .replace("max_iter: 100", "max_iter: 2")
        )
        params.write_text(text)

    commit_breakage(trained, "degraded-model", degrade)
    github, event = pull_request(trained, "break/degraded-model", "ci-degraded-model")
    result = runner(*trained, "ci-degraded-model", github=github).run_job("performance", event)
    assert not result.ok
    assert "the model fails the quality gate" in result.output
    assert "FAIL" in result.output


def test_a_broken_service_contract_fails_acceptance(trained: tuple[Path, dict[str, str]]) -> None:
    def reverse_answers(worktree: Path) -> None:
        service = next(worktree.glob("src/*/serving/service.py"))
        text = service.read_text()
        broken = text.replace("answers = await self.batcher(rows)", "answers = (await self.batcher(rows))[::-1]")
        assert broken != text
        service.write_text(broken)

    commit_breakage(trained, "broken-contract", reverse_answers)
    github, event = pull_request(trained, "break/broken-contract", "ci-broken-contract")
    ci = runner(*trained, "ci-broken-contract", github=github)
    done = {}
    for job in ("performance", "build"):
        done[job] = ci.run_job(job, event, done)
        assert done[job].ok, done[job].failure()
    result = ci.run_job("acceptance", event, done)
    assert not result.ok
    assert "test_predict_returns_the_offline_predictions_for_the_golden_set FAILED" in result.output or (
        "FAILED tests/acceptance/test_service.py::test_predict_returns_the_offline_predictions" in result.output
    )
