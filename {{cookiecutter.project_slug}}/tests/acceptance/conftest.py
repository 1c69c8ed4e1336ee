"""The built Bento, served on 127.0.0.1 for the acceptance tests and stopped by its PID afterwards."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import server
from {{ cookiecutter.package_name }}.settings import use_project_bentoml_home
from tests.conftest import ROOT, need


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
    lineage = json.loads(need(ROOT / "models/lineage.json", "make repro").read_text())
    use_project_bentoml_home()
    import bentoml

    try:
        bentoml.bentos.get(lineage["bento_tag"])
    except bentoml.exceptions.NotFound:
        pytest.fail(f"Bento {lineage['bento_tag']} is not built: run `make build` first", pytrace=False)
    return str(lineage["bento_tag"])


@pytest.fixture(scope="session")
def url(bento_tag: str) -> Iterator[str]:
    port = server.free_port()
    process = server.start(bento_tag, port)
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_ready(process, base)
        yield base
    finally:
        server.stop(process)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # no worker of it is left
