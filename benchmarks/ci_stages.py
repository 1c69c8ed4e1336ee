"""The wall time of each job of the generated ci.yml, run on this machine by the template's workflow runner.

Each job starts from a fresh clone of the baked, trained project, as on a fresh GitHub runner
(tests/workflow_runner.py), so a job's time includes its `make setup` from uv's warm cache.
"""

from __future__ import annotations

from pathlib import Path

from tests.workflow_runner import Runner

from .project import Project

WORKFLOW = Path(".github/workflows/ci.yml")


def measure(project: Project, label: str) -> dict[str, float]:
    # Each job gets its own BentoML store and MLflow database, as a runner would.
    env = {k: v for k, v in project.env.items() if k not in {"BENTOML_HOME", "MLFLOW_TRACKING_URI"}}
    results = Runner(project.path / WORKFLOW, project.path, label, env=env).run_all()
    failed = [r.failure() for r in results.values() if not r.ok or r.skipped]
    if failed:
        raise SystemExit("bench: a ci.yml job failed:\n" + "\n\n".join(failed))
    return {name: r.seconds for name, r in results.items()}
