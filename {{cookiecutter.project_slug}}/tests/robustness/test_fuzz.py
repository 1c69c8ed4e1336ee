"""Schemathesis against the OpenAPI document the served Bento publishes: no 5xx, every answer as declared.

Run through its command line, all of whose phases (explicit examples, boundary coverage, fuzzing) send
requests; its pytest loader (`schemathesis.pytest.from_fixture`, 4.32.5) fails under pytest 9.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHECKS = (
    "not_a_server_error",  # no 5xx, whatever is sent
    "status_code_conformance",  # every status is one the document declares
    "content_type_conformance",
    "response_schema_conformance",  # every body matches the schema declared for its status
    "negative_data_rejection",  # a request the document forbids gets a 4xx
    "positive_data_acceptance",  # a request the document allows gets a 2xx
)
# Cases per operation and phase: /predict alone then sends more than MIN_REQUESTS, in about 20 s.
MAX_EXAMPLES = 400
MIN_REQUESTS = 500


def test_every_answer_is_one_the_document_declares(url: str, tmp_path: Path) -> None:
    har = tmp_path / "requests.har"
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/docs.json", "--checks", ",".join(CHECKS),
           "--max-examples", str(MAX_EXAMPLES), "--generation-deterministic", "--no-color",
           "--report", "har", "--report-har-path", str(har)]  # fmt: skip
    # Derandomized, and run in a fresh folder, so no failure cached by an earlier run is replayed first:
    # the same requests on every run. The timeout bounds a run that hangs.
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    sent = len(json.loads(har.read_text())["log"]["entries"])
    assert sent >= MIN_REQUESTS, f"schemathesis sent {sent} requests; raise MAX_EXAMPLES"
