"""The baked project's robustness stage passes on its own trained and built Bento, through its Makefile.

`make test-robustness` fuzzes the served Bento with schemathesis, starts it with a missing, tampered or
corrupt model and a broken BentoML config, sends it oversized, non-JSON and abandoned requests, and
holds a fixed rate from a separate process (no errors, flat memory).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import make

pytestmark = pytest.mark.e2e


def test_the_robustness_stage_passes(trained: tuple[Path, dict[str, str]], bento: str) -> None:
    project, env = trained
    output = make(project, "test-robustness", env)
    for module in ("test_fuzz.py", "test_faults.py", "test_clients.py", "test_load.py", "test_request_log.py",
                   "test_shadow.py"):  # fmt: skip
        assert f"tests/robustness/{module}" in output
    assert " passed" in output and "skipped" not in output, output[-2000:]


def test_a_rate_the_service_cannot_sustain_fails_the_load_test(
    trained: tuple[Path, dict[str, str]], bento: str
) -> None:
    """The load gate breaks on purpose: 200 times the rate params.yaml asks, which no 2-core server answers."""
    project, env = trained
    params = project / "params.yaml"
    original = params.read_text()
    params.write_text(re.sub(r"(?m)^(\s+rate:) 100\b", r"\1 20000", original, count=1))
    assert params.read_text() != original
    try:
        cmd = ["uv", "run", "--no-sync", "pytest", "tests/robustness/test_load.py", "-q", "-p", "no:cacheprovider"]
        result = subprocess.run(
            cmd, cwd=project, env=env | {"LOAD_SECONDS": "5"}, capture_output=True, text=True, timeout=300
        )
    finally:
        params.write_text(original)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "the rate was not sustained" in result.stdout, result.stdout[-3000:]
