"""Batch scoring in the trained bake: its own batch stage (file->file and Spark local[2], which holds
most of the checks: they need only the packaged model, so a team runs them too), then the scheduled
workflow batch.yml run by the faithful runner, scoring with the production pin fetched through DVC.

The pin is committed in a clone, never in the shared trained project, whose history the promotion
tests read.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import make
from .github import GitHub
from .workflows.runner import for_project

pytestmark = pytest.mark.e2e

PIN = """
import json, subprocess
from pathlib import Path
from penguin_species.contract.identity import Lineage
from penguin_species.release.promotion import pins
lineage = Lineage.model_validate_json(Path("models/lineage.json").read_text())
head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
evaluation = pins.Evaluation(data={}, metrics=lineage.metrics, gates={})
pins.write(pins.Pin(environment="production", promoted_from="staging", source_commit=head, model=lineage, evaluation=evaluation))
"""


def test_the_batch_stage_passes(trained: tuple[Path, dict[str, str]]) -> None:
    project, env = trained
    output = make(project, "test-batch", env)
    assert "tests/batch/test_score.py" in output and "tests/batch/test_spark.py" in output
    assert " failed" not in output and " passed" in output


def test_the_batch_workflow_scores_with_the_production_pin(
    trained: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, env = trained
    clone = tmp_path / project.name
    subprocess.run(["git", "clone", "--quiet", str(project), str(clone)], check=True)
    storage = f"{project.name}-dvc-storage"  # the bake's folder remote, beside the project
    (tmp_path / storage).symlink_to(project.parent / storage)
    subprocess.run([str(project / ".venv/bin/python"), "-c", PIN], cwd=clone, env=env, check=True)
    for cmd in (["git", "add", "deploy/environments/production.yaml"],
                ["git", "commit", "--quiet", "-m", "Pin production (test)"]):  # fmt: skip
        subprocess.run(cmd, cwd=clone, env=env, check=True, capture_output=True)
    github = GitHub(clone, tmp_path / "github")
    runner = for_project(clone, env, "batch", workflow="batch.yml", github=github, beside_origin=True)
    results = runner.run_all(github.dispatch_event())
    job = results["score"]
    assert job.ok, job.failure()
    sha = json.loads((project / "models/lineage.json").read_text())["artifact"]["sha256"]
    assert f"rows scored by model {sha[:12]} -> build/batch/scores.parquet" in job.output
    assert job.workspace is not None
    answers = job.workspace / "build/batch/scores.parquet"
    read = "import sys, pandas as pd; d = pd.read_parquet(sys.argv[1]); print(len(d), *sorted(set(d.model_sha256)))"
    out = subprocess.run(
        [str(project / ".venv/bin/python"), "-c", read, str(answers)], capture_output=True, text=True, check=True
    )
    rows, digest = out.stdout.split()
    assert int(rows) > 300 and digest == sha  # the raw data's 344 birds, less any the contract refuses
