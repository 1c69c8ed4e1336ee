"""The baked project's robustness stage passes on its own trained and built Bento, through its Makefile.

`make test-robustness` fuzzes the served Bento with schemathesis, starts it with a missing, tampered or
corrupt model and a broken BentoML config, and sends it oversized, non-JSON and abandoned requests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import make

pytestmark = pytest.mark.e2e


def test_the_robustness_stage_passes(trained: tuple[Path, dict[str, str]], bento: str) -> None:
    project, env = trained
    output = make(project, "test-robustness", env)
    for module in ("test_fuzz.py", "test_faults.py", "test_clients.py"):
        assert f"tests/robustness/{module}" in output
    assert " passed" in output and "skipped" not in output, output[-2000:]
