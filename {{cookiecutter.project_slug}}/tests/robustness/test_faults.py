"""A server that cannot serve what it was built for refuses to start: one line on stderr naming the cause.

Each test breaks a copy of the BentoML store (or a config file under tmp), never the project's own.
A refusal must come before any worker starts: a worker that fails in its __init__ is restarted by
BentoML forever, which `refusal` reports as a failure.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE, LINEAGE_FILE
from {{ cookiecutter.package_name }}.contract.fastpath import FAST_PATH_FILE
from {{ cookiecutter.package_name }}.serving import server

from .conftest import refusal, serve


def assert_refused(result: tuple[int, list[str]], *words: str) -> str:
    status, lines = result
    assert status == 1, lines  # SystemExit with a message
    assert len(lines) == 1, "\n".join(lines)  # one line: no traceback, no log
    assert lines[0].startswith("refusing to start:"), lines[0]
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def test_a_missing_artifact_is_refused(bento_tag: str, store: Path, model_folder: Path) -> None:
    (model_folder / ARTIFACT_FILE).unlink()
    assert_refused(serve(bento_tag, store), str(model_folder / ARTIFACT_FILE), "is missing")


def test_a_model_missing_from_the_store_is_refused_by_bentoml(bento_tag: str, store: Path, model_folder: Path) -> None:
    """BentoML 1.4 resolves the Bento's models before any on_deployment hook runs, so this line is its own."""
    shutil.rmtree(model_folder)
    status, lines = serve(bento_tag, store)
    assert status != 0
    assert len(lines) == 1, "\n".join(lines)
    model_tag = f"{model_folder.parent.name}:{model_folder.name}"
    # "could not be found locally", or "not found either locally or remotely" when logged in to BentoCloud
    assert f"Model {model_tag}" in lines[0] and "found" in lines[0], lines[0]


def test_an_artifact_that_is_not_the_recorded_one_is_refused(bento_tag: str, store: Path, model_folder: Path) -> None:
    artifact = model_folder / ARTIFACT_FILE
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    assert_refused(serve(bento_tag, store), str(artifact), "sha256")


def test_a_corrupt_artifact_matching_its_record_is_refused(bento_tag: str, store: Path, model_folder: Path) -> None:
    """The digest check alone would pass it, and every worker would then fail to unpickle it."""
    garbage = b"not a model\n" * 100
    (model_folder / ARTIFACT_FILE).write_bytes(garbage)
    lineage = json.loads((model_folder / LINEAGE_FILE).read_text())
    lineage["artifact"]["sha256"] = hashlib.sha256(garbage).hexdigest()
    (model_folder / LINEAGE_FILE).write_text(json.dumps(lineage))
    assert_refused(serve(bento_tag, store), str(model_folder), "cannot be loaded")


def nudge_a_scaler_constant(model_folder: Path) -> Path:
    """The packaged fast path with its scaler constants moved by 1%: a file that still reads as a fast path."""
    path = model_folder / FAST_PATH_FILE
    spec = json.loads(path.read_text())
    numeric = next(block for block in spec["blocks"] if block["kind"] == "numeric")
    numeric["scale"] = [scale * 1.01 for scale in numeric["scale"]]
    path.write_text(json.dumps(spec))
    return path


def test_a_fast_path_that_is_not_the_recorded_one_is_refused(bento_tag: str, store: Path, model_folder: Path) -> None:
    path = nudge_a_scaler_constant(model_folder)
    assert_refused(serve(bento_tag, store), f"fast path {path}", "sha256")


def test_an_altered_fast_path_matching_its_record_is_refused(bento_tag: str, store: Path, model_folder: Path) -> None:
    """Its digest recorded too, so only the check against the pipeline at start stands in the way."""
    path = nudge_a_scaler_constant(model_folder)
    lineage = json.loads((model_folder / LINEAGE_FILE).read_text())
    lineage["fast_path"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (model_folder / LINEAGE_FILE).write_text(json.dumps(lineage))
    assert_refused(serve(bento_tag, store), "fast path", "disagrees with the pipeline: row ")


BAD_CONFIGS = {
    "malformed YAML": ("api_server:\n  http:\n    port: [3000\n", "line 4, column 1: expected ',' or ']'"),
    "unknown key": ("api_server:\n  http:\n    prot: 3000\n", "api_server.http: Wrong key 'prot'"),
}


@pytest.mark.parametrize(("text", "problem"), list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_an_unreadable_bentoml_config_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    """Through the project's `serve` command: a bare `bentoml serve` prints BentoML's traceback instead."""
    config = tmp_path / "bentoml.yaml"
    config.write_text(text)
    cmd = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "serve", "--port", str(server.free_port())]
    assert_refused(refusal(cmd, BENTOML_CONFIG=str(config)), f"BentoML config {config}: {problem}")
