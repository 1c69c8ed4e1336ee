"""Shared fixtures, and each test marked with its stage: the folder it lives in."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psutil  # a BentoML dependency
import pytest

from {{ cookiecutter.package_name }}.contract.dataset import DATASET
from {{ cookiecutter.package_name }}.pipeline import prepare
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.serving.store import use_project_home

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("unit", "data", "performance", "acceptance", "robustness", "batch")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        stage = item.path.relative_to(ROOT / "tests").parts[0]
        if stage in STAGES:
            item.add_marker(stage)


def identity_record(artifact_sha256: str, **fields: Any) -> dict[str, Any]:
    """A complete identity record (contract/identity.py) for a model folder or pin a test makes up."""
    return {
        "schema_version": 1,
        "model_name": "model",
        "mlflow_run_id": "run",
        "artifact": {"file": "model.joblib", "sha256": artifact_sha256},
        "bento_tag": f"service:{artifact_sha256[:12]}",
        "git_commit": "c" * 40,
        "git_dirty": False,
        "data": {"data/raw/data.csv": "d" * 32},
        "params_sha256": "e" * 64,
        "metrics": {"accuracy": 0.95},
        "created_at": "2026-11-23T10:00:00+00:00",
    } | fields


def need(path: Path, how: str) -> Path:
    """A pipeline output a test reads; a missing one fails with what to run, not a traceback."""
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `{how}` first", pytrace=False)
    return path


@pytest.fixture(scope="session")
def raw() -> pd.DataFrame:
    return prepare.read(need(ROOT / DATASET.raw_data, "make data"))


def call(method: str, url: str, body: bytes | None = None) -> tuple[int, Any]:
    """Status and body (parsed when it is JSON) of one request."""
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


@pytest.fixture(scope="session")
def bento_tag() -> str:
    """The Bento `make build` built for models/lineage.json, in the BentoML store."""
    lineage = json.loads(need(ROOT / "models/lineage.json", "make repro").read_text())
    use_project_home()
    import bentoml

    try:
        bentoml.bentos.get(lineage["bento_tag"])
    except bentoml.exceptions.NotFound:
        pytest.fail(f"Bento {lineage['bento_tag']} is not built: run `make build` first", pytrace=False)
    return str(lineage["bento_tag"])


@contextlib.contextmanager
def environment(**variables: str) -> Iterator[None]:
    """Variables set for the processes started inside the block, restored after it."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def process_tree(pid: int) -> set[int]:
    """A process and its live descendants: BentoML's workers, each in a session of its own, are among them."""
    root = psutil.Process(pid)
    tree = set()
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # one that exits while we look is not alive
            if process.status() != psutil.STATUS_ZOMBIE:  # nor one that died but is not yet reaped
                tree.add(process.pid)
    return tree


@pytest.fixture(scope="session")
def request_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the served Bento writes its request log to: the stages test it with the log on."""
    return tmp_path_factory.mktemp("requests")


@pytest.fixture(scope="session")
def served(bento_tag: str, request_log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The built Bento served on 127.0.0.1, and its process; stopped by its PID after the session."""
    port = server.free_port()
    with environment(REQUEST_LOG=str(request_log)):
        process = server.start(bento_tag, port)
    base = f"http://127.0.0.1:{port}"
    tree: set[int] = set()
    try:
        server.wait_ready(process, base)
        tree = process_tree(process.pid)
        yield base, process
    finally:
        server.stop(process)
    assert process.returncode == 0, f"the server did not stop cleanly on SIGTERM (status {process.returncode})"
    assert not [pid for pid in tree if psutil.pid_exists(pid)], "a worker of the server outlived it"


@pytest.fixture(scope="session")
def url(served: tuple[str, subprocess.Popen[bytes]]) -> str:
    return served[0]
