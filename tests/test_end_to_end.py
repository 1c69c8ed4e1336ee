"""Carry the baked, trained project to a served prediction through its own Makefile, as a team would.

The generated acceptance stage checks bad requests and health endpoints; this module checks what the
template promises across tools: lineage, MLflow, a no-op second run, pre-commit, and the served
predictions. Fail-closed serving is the generated robustness stage's, which test_robustness.py runs.

Real parts throughout: cookiecutter, uv, DVC, MLflow on sqlite, pre-commit, `bentoml build`, and the
Bento served over HTTP on 127.0.0.1, started and stopped by this test.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import browser, servers
from .conftest import make
from .servers import http

pytestmark = pytest.mark.e2e


def in_project(project: Path, env: dict[str, str], code: str) -> Any:
    """Run Python inside the baked project's environment and return what it prints as JSON."""
    cmd = ["uv", "run", "--no-sync", "python", "-c", code]
    result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pipeline(trained: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    return trained


def test_the_pipeline_writes_the_lineage_record(pipeline: tuple[Path, dict[str, str]]) -> None:
    project, _ = pipeline
    record = json.loads((project / "models/lineage.json").read_text())
    lock = (project / "dvc.lock").read_text()
    assert record["model_name"] == "penguin_species"
    assert record["data"]["data/raw/penguins.csv"] in lock
    assert "registry_version" not in record  # a registry numbers versions, not the pipeline on a laptop
    assert record["bento_tag"] == f"penguin-species:{record['artifact']['sha256'][:12]}"
    assert record["metrics"]["accuracy"] >= 0.9


def test_a_second_repro_does_nothing(pipeline: tuple[Path, dict[str, str]]) -> None:
    project, env = pipeline
    output = make(project, "repro", env)
    assert "Running stage" not in output
    assert "Data and pipelines are up to date." in output


def test_make_register_registers_the_model_once_with_its_lineage(pipeline: tuple[Path, dict[str, str]]) -> None:
    project, env = pipeline
    record = json.loads((project / "models/lineage.json").read_text())
    version = record["artifact"]["sha256"][:12]
    for _ in range(2):  # once per artifact: the second run finds the first version
        out = make(project, "register", env)
        assert f"register: penguin_species {version} is registry version 1 in {env['MLFLOW_TRACKING_URI']}" in out, out
    found = in_project(project, env, """
import json, mlflow
from mlflow.tracking import MlflowClient
v = MlflowClient().get_model_version("penguin_species", "1")
run = mlflow.get_run(v.run_id)
print(json.dumps({"tags": v.tags, "params": run.data.params, "metrics": run.data.metrics}))
""")  # fmt: skip
    assert found["tags"]["artifact_sha256"] == record["artifact"]["sha256"]
    assert found["tags"]["lineage.artifact"] == json.dumps(record["artifact"], sort_keys=True)
    assert found["params"]["learning_rate"] == "0.1"
    assert found["metrics"]["accuracy"] == record["metrics"]["accuracy"]


def test_the_four_test_stages_pass(pipeline: tuple[Path, dict[str, str]], bento: str) -> None:
    project, env = pipeline
    output = make(project, "test", env)
    for stage in ("unit", "data", "performance", "acceptance"):
        assert f"tests/{stage}/" in output


def test_pre_commit_passes_and_rejects_data_in_git(pipeline: tuple[Path, dict[str, str]]) -> None:
    project, env = pipeline
    make(project, "lint", env)
    subprocess.run(["git", "add", "--force", "data/prepared/train.csv"], cwd=project, check=True)
    try:
        cmd = ["uv", "run", "--no-sync", "pre-commit", "run", "data-in-dvc", "--files", "data/prepared/train.csv"]
        result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
        assert result.returncode != 0
        assert "must be tracked by DVC" in result.stdout
    finally:
        subprocess.run(["git", "rm", "--cached", "--quiet", "data/prepared/train.csv"], cwd=project, check=True)


@pytest.fixture(scope="module")
def server(pipeline: tuple[Path, dict[str, str]], bento: str) -> Iterator[str]:
    """The built Bento served on 127.0.0.1; stopped by its PID (and its process group) afterwards."""
    project, env = pipeline
    with servers.bento(project, env, bento, project.parent / "serve.log") as url:
        yield url


def test_predict_matches_the_offline_model_on_held_out_rows(pipeline: tuple[Path, dict[str, str]], server: str) -> None:
    project, env = pipeline
    offline = in_project(project, env, """
import json, joblib, pandas as pd
from penguin_species.contract.schema import FEATURE_NAMES
from penguin_species.contract.predict import predictions
rows = pd.read_csv("data/prepared/test.csv")[list(FEATURE_NAMES)]
rows = rows.astype(object).where(rows.notna(), None).to_dict("records")
model = joblib.load("models/model.joblib")
print(json.dumps({"rows": rows, "predictions": [p.model_dump() for p in predictions(model, rows)]}))
""")  # fmt: skip
    status, served = http("POST", f"{server}/predict", {"records": offline["rows"]})
    assert status == 200, served
    assert len(served) == len(offline["rows"]) > 50
    assert served == offline["predictions"]


def test_metadata_is_the_lineage_record(pipeline: tuple[Path, dict[str, str]], server: str) -> None:
    project, _ = pipeline
    status, served = http("GET", f"{server}/metadata")
    assert status == 200
    assert served == json.loads((project / "models/lineage.json").read_text())


def example_record(project: Path) -> dict[str, Any]:
    """The contract's example row, as a request carries it: the features, not the target."""
    config = yaml.safe_load((project / "src/penguin_species/contract/dataset.yaml").read_text())
    return {name: value for name, value in config["example"].items() if name != config["target"]}


def test_the_page_tries_predict_with_the_example_and_loads_nothing_from_elsewhere(
    pipeline: tuple[Path, dict[str, str]], server: str
) -> None:
    """In chromium, Swagger UI's "Try it out" for /predict is pre-filled with the contract's example row and
    answers it; the page names the served model (version, sha256) and the fields; every request stays on
    the server."""
    project, _ = pipeline
    lineage = json.loads((project / "models/lineage.json").read_text())
    with browser.opened(server) as (page, requested):
        page.goto(f"{server}/")
        text = page.locator(".information-container").inner_text()
        prefilled, status, answer, shown = browser.try_predict(page)
    assert prefilled == {"records": [example_record(project)]}
    assert status == 200, answer
    assert len(answer) == 1 and answer[0]["prediction"] in {"Adelie", "Chinstrap", "Gentoo"}, answer
    assert f'"prediction": "{answer[0]["prediction"]}"' in shown, shown  # the page shows it to its user
    version = lineage["bento_tag"].split(":")[1]
    assert version in text and lineage["artifact"]["sha256"] in text, text
    assert all(name in text for name in example_record(project)), text
    assert not re.search(r"\bmake [a-z]", text), text  # for callers, not the repository's maintainers
    assert f"{server}/docs.json" in requested and f"{server}/predict" in requested
    assert browser.third_party(requested, server) == []


def test_the_page_checks_fail_on_bentoml_s_page_and_on_3_1_examples(
    pipeline: tuple[Path, dict[str, str]], server: str
) -> None:
    """Broken on purpose, in the same browser: BentoML's default page requests its tag manager, and the
    document with 3.1-style `examples` (as BentoML writes it) pre-fills the maxima, not the example."""
    project, env = pipeline
    default_page = in_project(project, env, "import json; from bentoml._internal.server.http_app import "
                              "DEFAULT_INDEX_HTML as page; print(json.dumps(page))")  # fmt: skip
    status, document = http("GET", f"{server}/docs.json")
    assert status == 200
    for schema in document["components"]["schemas"].values():
        for field in schema.get("properties", {}).values():
            if "example" in field:
                field["examples"] = [field.pop("example")]
    for item in document["paths"].values():
        for operation in item.values():
            operation.get("requestBody", {}).get("content", {}).get("application/json", {}).pop("example", None)
    with browser.opened(server) as (page, requested):
        page.route(f"{server}/bentoml", lambda route: route.fulfill(body=default_page, content_type="text/html"))
        page.route(f"{server}/docs.json", lambda route: route.fulfill(json=document))
        page.goto(f"{server}/bentoml")
        prefilled, status, _, _ = browser.try_predict(page)
    assert any(url.startswith("https://www.googletagmanager.com/") for url in browser.third_party(requested, server))
    record = prefilled["records"][0]
    assert record != example_record(project)
    assert record["body_mass_g"] == 7000.0, record  # the contract's maximum, as the issue saw it


def test_the_bento_ships_only_the_contract_and_the_service(pipeline: tuple[Path, dict[str, str]], bento: str) -> None:
    """Nothing of the pipeline, monitoring, the release code, git plumbing or the tests is in what production
    runs: the contract and the service (with what it runs beside an answer: the request log and the metrics)."""
    project, env = pipeline
    name, version = bento.split(":")
    shipped = Path(env["BENTOML_HOME"]) / "bentos" / name / version / "src"
    files = {str(p.relative_to(shipped)) for p in shipped.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    package = project / "src" / "penguin_species"
    expected = {"bentofile.yaml", "penguin_species/__init__.py"} | {
        str(p.relative_to(project / "src")) for layer in ("contract", "serving")
        for p in (package / layer).iterdir() if p.is_file() and p.suffix in {".py", ".yaml"}
    }  # fmt: skip
    assert files == expected, f"unexpected: {sorted(files - expected)}; missing: {sorted(expected - files)}"
    assert any(f.endswith("serving/service.py") for f in files) and any(
        f.endswith("contract/dataset.yaml") for f in files
    )
