"""Serving, side by side in one run: the generated Bento, FastAPI (competent and naive), the no-op ceilings.

Each server serves the same model artifact from the same baked environment, one after another in each
run (`--runs` interleaves them: medians of alternating rounds, on a machine others share). The load is
wrk (wrk.py), one thread on 127.0.0.1, keep-alive, which also samples the server's process tree for CPU
time and peak memory; each server gets a warm-up first. The 1-minute load average is kept with each cell.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests import servers

from . import wrk
from .project import PACKAGE, Project, example_body

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 8, 32)
ROWS = (1, 64)
SERVERS = ("bento", "fastapi", "fastapi-naive", "noop-bento", "noop-starlette")
# The same Bento with its request log on (every request recorded): `--servers bento,bento-logged`.
OPTIONAL_SERVERS = ("bento-logged",)


GUNICORN = "gunicorn>=23"  # installed into the baked venv for the baselines (not a project dependency)


def gunicorn(project: Project, app: str, port: int) -> list[str]:
    """gunicorn with a uvicorn worker per core, as a team deploys FastAPI or Starlette."""
    return [project.python, "-m", "gunicorn", app, "--chdir", str(HERE), "-k", "uvicorn.workers.UvicornWorker",
            "-w", str(os.cpu_count() or 1), "-b", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip


def server_command(name: str, project: Project, port: int) -> list[str]:
    if name in {"bento", "bento-logged"}:
        bento_tag = str(project.lineage()["bento_tag"])
        return [project.python, "-m", "bentoml", "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)]
    if name == "fastapi":
        return gunicorn(project, "fastapi_app:app", port)
    if name == "noop-starlette":
        return gunicorn(project, "noop_apps:app", port)
    if name == "noop-bento":
        return [project.python, "-m", "bentoml", "serve", "noop_bento:NoOp", "--working-dir", str(HERE),
                "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    # fastapi-naive: one uvicorn process, FastAPI's defaults.
    return [project.python, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip


def install_gunicorn(project: Project) -> None:
    check = subprocess.run([project.python, "-c", "import gunicorn"], capture_output=True)
    if check.returncode != 0:
        project.run("uv", "pip", "install", "--quiet", "--python", project.python, GUNICORN)


@contextmanager
def serving(name: str, project: Project) -> Iterator[tuple[str, int]]:
    port = servers.free_port()
    env = dict(project.env, BENCH_PACKAGE=PACKAGE, BENCH_MODEL=str(project.path / "models/model.joblib"))
    if name == "fastapi":
        env["OMP_NUM_THREADS"] = "1"  # one OpenMP thread per worker, a worker per core
    if name == "bento-logged":
        env["REQUEST_LOG"] = str(project.path / "build/bench-requests")
    with running(server_command(name, project, port), project.path, env, port) as served:
        yield served


@contextmanager
def running(cmd: list[str], cwd: Path, env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """A server started by `cmd` in its own process group: its /predict URL and PID once /readyz answers."""
    process = subprocess.Popen(
        cmd, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        servers.wait_for_200(process, f"{url}/readyz")
        yield f"{url}/predict", process.pid
    finally:
        servers.stop(process)


def load(project: Project, url: str, pid: int, concurrency: int, rows: int, seconds: float) -> dict[str, Any]:
    result = wrk.load(url, bodies(project, rows), concurrency, seconds, pid)
    return result | {"load_average": wrk.load_average()}


_bodies: dict[tuple[Path, int], bytes] = {}


def bodies(project: Project, rows: int) -> bytes:
    if (project.path, rows) not in _bodies:
        _bodies[(project.path, rows)] = example_body(project, rows)
    return _bodies[(project.path, rows)]


def in_process(project: Project, rows: int, seconds: float) -> dict[str, Any]:
    cmd = [project.python, str(HERE / "in_process.py"), PACKAGE, "models/model.joblib", str(rows), str(seconds)]
    return dict(json.loads(project.run(*cmd)))


def measure(project: Project, seconds: float, servers: tuple[str, ...] = SERVERS) -> list[dict[str, Any]]:
    """One row per server, concurrency and batch size; the in-process floor at concurrency 1."""
    results = [
        {"server": "in-process", "concurrency": 1, "rows": rows, **in_process(project, rows, seconds)} for rows in ROWS
    ]
    if {"fastapi", "noop-starlette"} & set(servers):
        install_gunicorn(project)
    for name in servers:
        with serving(name, project) as (url, pid):
            load(project, url, pid, 8, 1, 3)  # warm-up, not recorded
            for concurrency in CONCURRENCY:
                for rows in ROWS:
                    result = load(project, url, pid, concurrency, rows, seconds)
                    results.append({"server": name, "concurrency": concurrency, "rows": rows, **result})
    return results
