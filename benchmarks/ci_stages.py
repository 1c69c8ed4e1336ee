"""The wall time of each job of the generated ci.yml, run on this machine by the template's workflow runner.

Each job starts from a fresh checkout of the baked, trained project, as on a fresh GitHub runner
(tests/workflows/), so a job's time includes its `make setup` from uv's warm cache. The event
is a push to the default branch: every stage but the pull-request report runs.
"""

from __future__ import annotations

from tests.github import GitHub
from tests.workflows.runner import for_project

from .project import Project


def measure(project: Project, label: str) -> dict[str, float]:
    github = GitHub(project.path, project.path.parent / f"{label}-github")
    head = github.sha("refs/heads/main")
    results = for_project(project.path, project.env, label, github=github).run_all(github.push_event(f"{head}^", head))
    failed = [r.failure() for r in results.values() if not r.ok]
    if failed:
        raise SystemExit("bench: a ci.yml job failed:\n" + "\n\n".join(failed))
    return {name: r.seconds for name, r in results.items() if not r.skipped}
