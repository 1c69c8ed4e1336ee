"""Oversized, non-JSON, half-sent and abandoned requests: each gets a clear 4xx, or no answer, and the
same server processes go on answering."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from {{ cookiecutter.package_name }}.contract.messages import MAX_BATCH_ROWS
from {{ cookiecutter.package_name }}.contract.schema import EXAMPLE_FEATURES
from {{ cookiecutter.package_name }}.serving.limits import MAX_BODY_BYTES
from tests import loadgen
from tests.conftest import call, process_tree

Served = tuple[str, subprocess.Popen[bytes]]


def in_progress(url: str) -> list[float]:
    """Requests to /predict the server is still working on, from its own Prometheus gauge (one per worker)."""
    _, text = call("GET", f"{url}/metrics")
    gauge = "bentoml_service_request_in_progress{"
    return [float(line.split()[-1]) for line in text.splitlines() if line.startswith(gauge) and "/predict" in line]


@pytest.fixture
def serving(served: Served) -> Iterator[str]:
    """The served Bento; after the test, the same processes answer a prediction and hold no other request."""
    url, server = served
    before = process_tree(server.pid)  # a worker that dies, or is restarted, changes the set
    yield url
    time.sleep(1)  # let the server finish with whatever the test left it
    status, answer = call("POST", f"{url}/predict", json.dumps({"records": [EXAMPLE_FEATURES]}).encode())
    assert status == 200, answer
    assert server.poll() is None and process_tree(server.pid) == before, "a server process died or was restarted"
    gauge = in_progress(url)
    assert gauge and not any(gauge), f"requests to /predict still in progress: {gauge}"


def post(url: str, body: bytes | Iterator[bytes], content_type: str = "application/json") -> tuple[int, Any]:
    """POST with http.client, which sends an iterator of chunks with Transfer-Encoding: chunked."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        chunked = not isinstance(body, bytes)
        connection.request("POST", "/predict", body, {"Content-Type": content_type}, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def raw_request(url: str, body: bytes) -> bytes:
    """The bytes of POST /predict with this body, as the load generator sends them."""
    return loadgen.request_bytes(f"{url}/predict", body)[2]


def send_and_leave(url: str, data: bytes) -> None:
    """Send raw bytes on a new connection and close it without reading an answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(data)


def full_batch(indent: int | None = 2) -> bytes:
    """MAX_BATCH_ROWS records, numbers written with all their digits and indented: a large, legal body."""
    record = {k: v + 1 / 3 if isinstance(v, float) else v for k, v in EXAMPLE_FEATURES.items()}
    return json.dumps({"records": [record] * MAX_BATCH_ROWS}, indent=indent).encode()


def oversized() -> bytes:
    return json.dumps({"records": [EXAMPLE_FEATURES] * (MAX_BODY_BYTES // 100)}).encode()


def test_a_full_batch_fits_under_the_body_limit(serving: str) -> None:
    body = full_batch()
    assert len(body) <= MAX_BODY_BYTES
    status, answer = post(serving, body)
    assert status == 200 and len(answer) == MAX_BATCH_ROWS


def test_a_body_over_the_limit_gets_413(serving: str) -> None:
    body = oversized()
    assert len(body) > MAX_BODY_BYTES
    status, answer = post(serving, body)
    assert (status, answer) == (413, {"error": f"the request body is over the limit of {MAX_BODY_BYTES} bytes"})


def test_a_chunked_body_over_the_limit_gets_413(serving: str) -> None:
    """No Content-Length to refuse it on: the guard counts the chunks and stops reading at the limit."""
    body = oversized()
    status, answer = post(serving, iter(body[i : i + 65536] for i in range(0, len(body), 65536)))
    assert status == 413, answer


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_that_is_not_json_gets_415(serving: str, content_type: str) -> None:
    """BentoML would parse these as forms (a 500 for multipart without a boundary) or as JSON."""
    status, answer = post(serving, b"records=1", content_type)
    assert status == 415 and content_type in answer["error"], answer


def test_a_client_that_leaves_in_the_middle_of_its_body(serving: str) -> None:
    body = full_batch(indent=None)
    request = raw_request(serving, body)
    send_and_leave(serving, request[: len(request) - len(body) // 2])  # the headers and half the body


def test_a_client_that_leaves_while_waiting_for_its_answer(serving: str) -> None:
    send_and_leave(serving, raw_request(serving, full_batch(indent=None)))
