"""A request log that cannot be written costs no request: under load every answer is a 200, and the loss is told.

The log points inside a regular file, so creating its folder fails whoever runs the test (root too).
The rate itself is test_load.py's gate (run with the log on); this test asks only that nothing fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.contract import params
from {{ cookiecutter.package_name }}.serving import server
from tests.conftest import ROOT, call, environment

LOAD = params.load("serving", ROOT / "params.yaml")["load"]
SECONDS = 10


def test_an_unwritable_request_log_fails_no_request_under_load(bento_tag: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    port, log = server.free_port(), tmp_path / "server.log"
    with environment(REQUEST_LOG=str(tmp_path / "a-file" / "requests")):
        process = server.start(bento_tag, port, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        server.wait_ready(process, url)
        cmd = [sys.executable, "-m", "tests.loadgen", "--url", f"{url}/predict", "--rate", str(LOAD["rate"]),
               "--rows", str(LOAD["rows"]), "--concurrency", str(LOAD["concurrency"]), "--duration", str(SECONDS),
               "--requests", str(int(LOAD["rate"] * SECONDS))]  # fmt: skip
        result = json.loads(subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        assert result["errors"] == {} and result["statuses"] == {"200": result["requests"]}, json.dumps(result)
        _, metrics = call("GET", f"{url}/metrics")
        (dropped,) = [
            x
            for x in metrics.splitlines()
            if x.startswith('model_request_log_dropped_rows_total{reason="write_failed"}')
        ]
        assert float(dropped.split()[-1]) > 0, dropped
    finally:
        server.stop(process)
    told = [line for line in log.read_text().splitlines() if "request log: dropping rows (write_failed)" in line]
    # Once per worker process, however many rows each dropped.
    assert 1 <= len(told) <= (len(__import__("os").sched_getaffinity(0)) or 1), told
