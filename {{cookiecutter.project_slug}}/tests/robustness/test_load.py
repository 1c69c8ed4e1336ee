"""A load the service sustains, held: every request answered 200, and the memory flat.

The rate, in params.yaml, is well below what the template's benchmark measured the Bento sustaining on
2 cores, so a failure here is the service, not the machine. The load comes from a separate process
(`python -m tests.loadgen`), which also samples the server's memory. CI holds it for
`serving.load.seconds`; `make test-load` holds it for 5 minutes (LOAD_SECONDS=300).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from {{ cookiecutter.package_name }}.contract import params
from tests.conftest import ROOT

LOAD = params.load("serving", ROOT / "params.yaml")["load"]


def test_a_sustained_load_is_answered_without_errors_and_memory_stays_flat(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = served
    seconds = float(os.environ.get("LOAD_SECONDS", LOAD["seconds"]))
    cmd = [sys.executable, "-m", "tests.loadgen", "--url", f"{url}/predict",
           "--rate", str(LOAD["rate"]), "--rows", str(LOAD["rows"]), "--concurrency", str(LOAD["concurrency"]),
           "--duration", str(seconds), "--requests", str(int(LOAD["rate"] * seconds)), "--watch-pid", str(process.pid)]  # fmt: skip
    result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    summary = json.dumps(result)
    assert result["errors"] == {}, f"connection errors under load: {summary}"
    assert result["statuses"] == {"200": result["requests"]}, f"not every request got a 200: {summary}"
    # The rate was delivered: a server that fell behind would stretch the run past its duration.
    assert result["ok"] >= 0.95 * LOAD["rate"] * seconds, f"the rate was not sustained: {summary}"
    rss = result["rss_mb"]
    assert rss["last"] <= rss["warm"] * (1 + LOAD["max_rss_growth"]), f"memory grew under steady load: {summary}"
    assert process.poll() is None, "the server died under load"
