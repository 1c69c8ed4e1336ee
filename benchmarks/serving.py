"""Serving, side by side in one run: the generated Bento, a plain FastAPI app, and in-process predict.

Each server serves the same model artifact from the same baked environment. The load comes from the
baked project's own load generator (`python -m tests.loadgen`), a separate process on 127.0.0.1,
bounded in requests and seconds, which also samples the server's resident memory (its whole process
tree). Each server gets a warm-up first: BentoML's adaptive batching calibrates on its first requests.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests import servers

from .project import PACKAGE, Project

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 8, 32)
ROWS = (1, 64)
SERVERS = ("bento", "fastapi")
# The same Bento with its request log on (every request recorded): `--servers bento,bento-logged`.
OPTIONAL_SERVERS = ("bento-logged",)


def server_command(name: str, project: Project, port: int) -> list[str]:
    if name in {"bento", "bento-logged"}:
        bento_tag = str(project.lineage()["bento_tag"])
        return [project.python, "-m", "bentoml", "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)]
    # What a team writes by hand: one uvicorn process, FastAPI's defaults.
    return [project.python, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip


@contextmanager
def serving(name: str, project: Project) -> Iterator[tuple[str, int]]:
    port = servers.free_port()
    env = dict(project.env, BENCH_PACKAGE=PACKAGE, BENCH_MODEL=str(project.path / "models/model.joblib"))
    if name == "bento-logged":
        env["REQUEST_LOG"] = str(project.path / "build/bench-requests")
    process = subprocess.Popen(
        server_command(name, project, port), cwd=project.path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        servers.wait_for_200(process, f"{url}/readyz")
        yield f"{url}/predict", process.pid
    finally:
        servers.stop(process)


def load(project: Project, url: str, pid: int, concurrency: int, rows: int, seconds: float) -> dict[str, Any]:
    cmd = [project.python, "-m", "tests.loadgen", "--url", url, "--rows", str(rows),
           "--concurrency", str(concurrency), "--duration", str(seconds), "--requests", "100000",
           "--watch-pid", str(pid)]  # fmt: skip
    return dict(json.loads(project.run(*cmd)))


def in_process(project: Project, rows: int, seconds: float) -> dict[str, Any]:
    cmd = [project.python, str(HERE / "in_process.py"), PACKAGE, "models/model.joblib", str(rows), str(seconds)]
    return dict(json.loads(project.run(*cmd)))


def measure(project: Project, seconds: float, servers: tuple[str, ...] = SERVERS) -> list[dict[str, Any]]:
    """One row per server, concurrency and batch size; the in-process floor at concurrency 1."""
    results = [
        {"server": "in-process", "concurrency": 1, "rows": rows, **in_process(project, rows, seconds)} for rows in ROWS
    ]
    for name in servers:
        with serving(name, project) as (url, pid):
            load(project, url, pid, 8, 1, 3)  # warm-up, not recorded
            for concurrency in CONCURRENCY:
                for rows in ROWS:
                    result = load(project, url, pid, concurrency, rows, seconds)
                    results.append({"server": name, "concurrency": concurrency, "rows": rows, **result})
    return results
