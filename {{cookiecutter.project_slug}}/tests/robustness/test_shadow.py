"""A shadow challenger that raises on every row costs no answer; a tampered one stops the server in one line.

The Bento is built by the command line's own `build --shadow` beside the project's plain Bento (its tag
gains `-shadow-<version>`, so the shared one is untouched); the challenger is the trained model behind
a first step that raises on any frame, so it fails inside the service exactly as a broken model would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE, LINEAGE_FILE, load_verified, sha256_file
from {{ cookiecutter.package_name }}.contract.identity import model_version
from {{ cookiecutter.package_name }}.contract.schema import to_records
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.serving.store import SHADOW_MODEL_NAME
from tests.conftest import ROOT, call, environment, need

from .conftest import serve
from .test_faults import assert_refused

BATCH = 8


@pytest.fixture(scope="module")
def shadowed(bento_tag: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The Bento of the trained model with a raising shadow, built by `build --shadow`: its tag, the shadow's sha256."""
    model, lineage = load_verified(ROOT / "models")
    folder = tmp_path_factory.mktemp("shadow")
    # int(frame) raises TypeError on every call: a model that loads, verifies and never scores.
    joblib.dump(Pipeline([("broken", FunctionTransformer(int)), ("model", model)]), folder / ARTIFACT_FILE)
    sha = sha256_file(folder / ARTIFACT_FILE)
    # Its own artifact, so not the trained model's fast path: the record names none (a shadow scores by its pipeline).
    record = lineage.model_dump(mode="json", exclude_none=True, exclude={"fast_path"})
    record["artifact"] = {"file": ARTIFACT_FILE, "sha256": sha}
    (folder / LINEAGE_FILE).write_text(json.dumps(record))
    cmd = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "build", "--shadow", str(folder)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    tag = f"{bento_tag}-shadow-{model_version(sha)}"
    assert result.returncode == 0 and f"build: Bento {tag} " in result.stdout, result.stdout + result.stderr
    return tag, sha


def answers(url: str, records: list[dict[str, object]]) -> list[object]:
    out = []
    for start in range(0, len(records), BATCH):
        status, body = call("POST", f"{url}/predict", json.dumps({"records": records[start : start + BATCH]}).encode())
        assert status == 200, body
        out += body
    return out


def logged(folder: Path, rows: int, timeout: float = 30.0) -> list[dict[str, object]]:
    """The request log's lines, once it holds `rows` (the writer thread appends soon after the answers)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(x) for p in folder.glob("requests-*.jsonl") for x in p.read_text().splitlines()]
        if len(lines) >= rows or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_a_shadow_that_raises_on_every_row_leaves_every_answer_as_it_was_and_is_counted(
    url: str, shadowed: tuple[str, str], tmp_path: Path
) -> None:
    tag, sha = shadowed
    records = to_records(pd.read_csv(need(ROOT / "data/prepared/test.csv", "make repro")))
    port, log = server.free_port(), tmp_path / "server.log"
    with environment(REQUEST_LOG=str(tmp_path / "requests")):
        process = server.start(tag, port, log=log)
    shadow_url = f"http://127.0.0.1:{port}"
    try:
        server.wait_ready(process, shadow_url)
        assert answers(shadow_url, records) == answers(url, records), "the shadow changed an answer"
        lines = logged(tmp_path / "requests", len(records))
        assert len(lines) == len(records), "every row logged, with the shadow's failure beside it"
        assert all(x["shadow_sha256"] == sha and x["shadow_error"].startswith("TypeError") for x in lines), lines[0]
        assert not [x for x in lines if "shadow_prediction" in x]
        _, metrics = call("GET", f"{shadow_url}/metrics")
        (failed,) = [x for x in metrics.splitlines() if x.startswith("model_shadow_failures_total ")]
        assert float(failed.split()[-1]) == len(records), failed
        (info,) = [x for x in metrics.splitlines() if x.startswith("model_shadow_info{")]
        assert f'sha256="{sha}"' in info and info.endswith(" 1.0"), info
    finally:
        server.stop(process)
    told = [x for x in log.read_text().splitlines() if f"shadow model {sha[:12]} failed to score (TypeError" in x]
    assert 1 <= len(told) <= (len(os.sched_getaffinity(0)) or 1), told  # once per worker


def test_a_tampered_shadow_is_refused_in_one_line(shadowed: tuple[str, str], tmp_path: Path) -> None:
    import bentoml

    tag, _ = shadowed
    home = Path(os.environ["BENTOML_HOME"]).resolve()
    bento = bentoml.bentos.get(tag)
    for folder in [Path(bento.path)] + [Path(bentoml.models.get(m.tag).path) for m in bento.info.all_models]:
        shutil.copytree(folder, tmp_path / "bentoml" / folder.resolve().relative_to(home))
    (artifact,) = (tmp_path / "bentoml/models").glob(f"{SHADOW_MODEL_NAME}/*/{ARTIFACT_FILE}")
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    assert_refused(serve(tag, tmp_path / "bentoml"), "shadow:", str(artifact), "sha256")
