"""The wall time of each job of the generated ci.yml, run on this machine by the template's workflow runner.

Each job starts from a fresh clone of the baked, trained project, as on a fresh GitHub runner
(tests/workflow_runner.py), so a job's time includes its `make setup` from uv's warm cache.
"""

from __future__ import annotations

from tests.workflow_runner import for_project

from .project import Project


def measure(project: Project, label: str) -> dict[str, float]:
    results = for_project(project.path, project.env, label).run_all()
    failed = [r.failure() for r in results.values() if not r.ok or r.skipped]
    if failed:
        raise SystemExit("bench: a ci.yml job failed:\n" + "\n\n".join(failed))
    return {name: r.seconds for name, r in results.items()}
