"""The team stack, started for real on 127.0.0.1: an S3-compatible server (moto's server mode), a
PostgreSQL cluster in a temporary folder, and `mlflow server` on that database with its artifacts in
that S3. Each runs on a free port, in a process group of its own, and is stopped by its PID.

How this is kinder than a team's stack: every server is on loopback with no TLS; moto accepts any
credentials and checks no bucket policy (a job with the wrong role would still read the bucket);
PostgreSQL trusts local connections without a password; the MLflow server has no authentication, so
MLFLOW_TRACKING_TOKEN is never checked. What the tests prove is that every part is reached by
configuration alone (URLs, variables, secrets), not that access is denied where it should be.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import servers

BIN = Path(sys.executable).parent
POSTGRES = Path("/usr/lib/postgresql/15/bin")
# What the stand-in OIDC login hands a job, and what a team member's shell holds: moto takes any keys.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "team-key", "AWS_SECRET_ACCESS_KEY": "team-secret"}
REGION = "us-east-1"


@dataclass
class Stack:
    s3: str  # endpoint URL
    mlflow: str  # tracking URI
    database: str

    def env(self) -> dict[str, str]:
        """What a team member's shell sets to use the stack (nothing of it is in git)."""
        return {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "MLFLOW_TRACKING_URI": self.mlflow}

    def bucket(self, name: str) -> None:
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3, region_name=REGION, **credential_arguments())
        client.create_bucket(Bucket=name)

    def objects(self, bucket: str) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3, region_name=REGION, **credential_arguments())
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def credential_arguments() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


@contextmanager
def _http_server(
    command: Callable[[int], list[str]], log: Path, health: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start `command(port)` on a free port, wait for 200 on `health`, yield its URL, stop it by PID."""
    port = servers.free_port()
    process = _start(command(port), log, env)
    try:
        url = f"http://127.0.0.1:{port}"
        servers.wait_for_200(process, f"{url}{health}", timeout=180)
        yield url
    finally:
        servers.stop(process)


def s3_server(folder: Path) -> AbstractContextManager[str]:
    return _http_server(
        lambda port: [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], folder / "moto.log", "/moto-api/"
    )


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)}: {result.stdout}{result.stderr}"
    return result


@contextmanager
def postgres() -> Iterator[str]:
    """A cluster in a folder of its own (PostgreSQL refuses to run as root, and the test's folders are
    root's alone), on a free port; the URI of a database `mlflow` in it."""
    data = Path(tempfile.mkdtemp(prefix="lastmile-postgres-"))
    user = pwd.getpwnam("postgres")
    os.chown(data, user.pw_uid, user.pw_gid)
    pid = None
    try:
        _as_postgres(str(POSTGRES / "initdb"), "--pgdata", str(data), "--auth", "trust", "--username", "postgres")
        port = servers.free_port()
        options = f"-p {port} -k {data} -h 127.0.0.1"
        _as_postgres(
            str(POSTGRES / "pg_ctl"), "--pgdata", str(data), "-o", options, "-l", str(data / "log"), "-w", "start"
        )
        pid = int((data / "postmaster.pid").read_text().split()[0])
        _as_postgres(str(POSTGRES / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
            _wait_gone(pid)
        shutil.rmtree(data, ignore_errors=True)


def _wait_gone(pid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise AssertionError(f"process {pid} did not stop")


def mlflow_server(folder: Path, database: str, s3: str) -> AbstractContextManager[str]:
    """`mlflow server` on the database, proxying artifacts to s3://mlflow/ (clients need no S3 keys);
    no background job workers: tracking and the registry only."""
    env = {**os.environ, **CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": s3, "AWS_DEFAULT_REGION": REGION,
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # fmt: skip
    return _http_server(
        lambda port: [str(BIN / "mlflow"), "server", "--backend-store-uri", database, "--artifacts-destination",
                      "s3://mlflow/", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        folder / "mlflow-server.log", "/health", env,
    )  # fmt: skip


@contextmanager
def team_stack(folder: Path) -> Iterator[Stack]:
    folder.mkdir(parents=True, exist_ok=True)
    with s3_server(folder) as s3, postgres() as database:
        stack = Stack(s3, "", database)
        stack.bucket("mlflow")
        with mlflow_server(folder, database, s3) as mlflow:
            stack.mlflow = mlflow
            yield stack
