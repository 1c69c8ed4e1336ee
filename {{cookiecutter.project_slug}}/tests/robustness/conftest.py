"""The robustness stage's own fixtures: a copy of the BentoML store to break, and servers run to their exit.

The served Bento (`url`, `served`) and `call` are shared with the acceptance stage, in tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE
from {{ cookiecutter.package_name }}.serving import server
from tests.conftest import ROOT

# A server that refuses to start exits within seconds; one still running after this is restarting workers.
EXIT_WITHIN_S = 90


@pytest.fixture
def store(bento_tag: str, tmp_path: Path) -> Path:
    """A BentoML home holding a copy of the built Bento and its model, for a test to break."""
    import bentoml

    home = Path(os.environ["BENTOML_HOME"]).resolve()
    bento = bentoml.bentos.get(bento_tag)
    folders = [Path(bento.path)] + [Path(bentoml.models.get(model.tag).path) for model in bento.info.all_models]
    for folder in folders:
        shutil.copytree(folder, tmp_path / "bentoml" / folder.resolve().relative_to(home))
    return tmp_path / "bentoml"


@pytest.fixture
def model_folder(store: Path) -> Path:
    """The copied model's folder: the artifact and its lineage record, as the service reads them."""
    (artifact,) = store.glob(f"models/*/*/{ARTIFACT_FILE}")
    return artifact.parent


def refusal(cmd: list[str], **env: str) -> tuple[int, list[str]]:
    """Run a server that must refuse to start: its exit status and the lines it wrote to stderr."""
    process = subprocess.Popen(
        cmd, cwd=ROOT, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=EXIT_WITHIN_S)
    except subprocess.TimeoutExpired:
        server.stop(process)
        pytest.fail(f"`{' '.join(cmd)}` still runs after {EXIT_WITHIN_S} s: it restarts workers instead of refusing")
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # and nothing of its process group is left running
    return process.returncode, stderr.decode(errors="replace").strip().splitlines()


def serve(bento_tag: str, store: Path) -> tuple[int, list[str]]:
    """`bentoml serve` of the Bento from the copied store, run to its exit."""
    return refusal(server.command(bento_tag, server.free_port()), BENTOML_HOME=str(store))
