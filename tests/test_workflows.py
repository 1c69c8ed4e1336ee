"""The generated ci.yml, run job by job on this machine, passes; each deliberate breakage fails its stage."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from .workflow_runner import for_project as runner

pytestmark = pytest.mark.e2e


def test_every_job_of_ci_yml_passes(trained: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    project, env = trained
    results = runner(project, env, "ci-green").run_all()
    times = {name: round(r.seconds, 1) for name, r in results.items()}
    with capsys.disabled():  # the stage times belong in the CI log
        print(f"\nci.yml job wall times (s): {json.dumps(times)}")
    failed = [r.failure() for r in results.values() if not r.ok or r.skipped]
    assert not failed, "\n\n".join(failed)
    assert set(results) == {"lint", "unit", "data", "performance", "build", "acceptance", "report"}


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
    sha = commit_breakage(trained, name, edit_raw_data(trained, edit))
    result = runner(*trained, f"ci-{name}").run_job("data", sha)
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

    sha = commit_breakage(trained, "degraded-model", degrade)
    result = runner(*trained, "ci-degraded-model").run_job("performance", sha)
    assert not result.ok
    assert "the model fails the quality gate" in result.output
    assert "FAIL" in result.output


def test_a_broken_service_contract_fails_acceptance(trained: tuple[Path, dict[str, str]]) -> None:
    def reverse_answers(worktree: Path) -> None:
        service = next(worktree.glob("src/*/serving/service.py"))
        text = service.read_text()
        broken = text.replace("for record in records])", "for record in records])[::-1]")
        assert broken != text
        service.write_text(broken)

    sha = commit_breakage(trained, "broken-contract", reverse_answers)
    ci = runner(*trained, "ci-broken-contract")
    for job in ("performance", "build"):
        assert ci.run_job(job, sha).ok
    result = ci.run_job("acceptance", sha)
    assert not result.ok
    assert "test_predict_returns_the_offline_predictions_for_the_golden_set FAILED" in result.output or (
        "FAILED tests/acceptance/test_service.py::test_predict_returns_the_offline_predictions" in result.output
    )
