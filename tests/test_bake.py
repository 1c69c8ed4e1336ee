"""Baking the option matrix gives exactly the expected files, fully rendered and well-formed."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from .projects import TEMPLATE, bake

CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# Every value of every choice in cookiecutter.json appears in some bake: bake i takes each list's value i
# (wrapping), so the lists rotate together; the options do not interact in what files are written, only
# in what they say. python_version is free text there; the pre-generation hook accepts these.
CHOICES = {name: v for name, v in CONTEXT.items() if isinstance(v, list) and not name.startswith("_")} | {
    "python_version": ["3.11", "3.12", "3.13"]
}
# Validity rule: a remote's URL is of its kind (an unusual one each, the local one by default).
REMOTE_URLS = {"s3": "s3://elan-models/dvc", "gcs": "gs://penguin-models", "azure": "azure://models/dvc"}
# Unusual but valid free-text answers, one set per bake: the first bake keeps every default.
UNUSUAL: list[dict[str, str]] = [
    {},
    {"project_name": "Élan Credit Model 2"},
    {
        "project_slug": "penguin-model-v2",
        "default_branch": "trunk",
        # Free text lands in TOML and Python strings: quotes, backslashes and non-Latin letters must survive.
        "description": 'Модель "пингвинов" \\ 企鹅 C:\\models\\ it\'s """ done\\',
        "author_name": 'Zoë "Z" O\'Brien \\ 数据组',
    },
    {
        "project_name": "My Model",
        "project_slug": "my-hyphenated-model",
        "package_name": "hyphen_pkg",
        "mlflow_tracking_uri": "https://mlflow.example.com",
    },
]


def matrix() -> dict[str, dict[str, str]]:
    """The bakes, named by the choices each makes away from the defaults."""
    bakes = {}
    for i in range(max(len(UNUSUAL), *map(len, CHOICES.values()))):
        chosen = {name: values[i % len(values)] for name, values in CHOICES.items()}
        answers = {name: v for name, v in chosen.items() if v != CHOICES[name][0]} | UNUSUAL[i % len(UNUSUAL)]
        if answers.get("dvc_remote") in REMOTE_URLS:
            answers["dvc_remote_url"] = REMOTE_URLS[answers["dvc_remote"]]
        bakes["-".join(v for k, v in chosen.items() if v != CHOICES[k][0]) or "defaults"] = answers
    return bakes


MATRIX = matrix()


EXPECTED_FILES = {
    ".dvc/.gitignore",
    ".dvc/config",
    ".dvcignore",
    ".github/CODEOWNERS",
    ".github/workflows/ci.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/promote.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "LICENSE",
    "Makefile",
    "README.md",
    "bentofile.yaml",
    "data/README.md",
    "deploy/environments/README.md",
    "deploy/Containerfile",
    "docs/promote-rollback-audit.md",
    "docs/deploy.md",
    "docs/quality-gates.md",
    "docs/own-data.md",
    ".cruft.json",
    "data/raw/.gitignore",
    "data/raw/penguins.csv.dvc",
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/strategies.py",
    "tests/unit/__init__.py",
    "tests/unit/test_artifact.py",
    "tests/unit/test_batching.py",
    "tests/unit/test_cli.py",
    "tests/unit/test_properties.py",
    "tests/unit/test_schema.py",
    "tests/unit/test_validate.py",
    "tests/data/__init__.py",
    "tests/data/test_data.py",
    "tests/performance/__init__.py",
    "tests/performance/test_quality.py",
    "tests/performance/test_serving.py",
    "tests/acceptance/__init__.py",
    "tests/acceptance/test_service.py",
    "tests/robustness/__init__.py",
    "tests/robustness/conftest.py",
    "tests/robustness/test_clients.py",
    "tests/robustness/test_faults.py",
    "tests/robustness/test_fuzz.py",
    "tests/robustness/test_load.py",
    "tests/robustness/test_request_log.py",
    "tests/robustness/test_shadow.py",
    "tests/unit/test_shadow.py",
    "tests/unit/test_upload.py",
    "tests/acceptance/test_monitoring.py",
    "tests/unit/test_monitoring.py",
    "tests/unit/test_drift.py",
    "docs/monitoring.md",
    "docs/architecture.md",
    "docs/team-setup.md",
    "tests/loadgen.py",
    "tests/unit/test_dataset.py",
    "tests/unit/test_layers.py",
    "tests/unit/test_registry.py",
    "tests/unit/test_remote.py",
    "tests/unit/test_release.py",
    "tests/unit/test_manifests.py",
    "tests/unit/test_infer.py",
    "tests/unit/test_fastpath.py",
    "tests/unit/test_evaluate.py",
    "tests/unit/test_route.py",
    "src/{package}/contract/dataset.yaml",
    *(
        f"src/{{package}}/{module}.py"
        for module in (
            "__init__", "__main__", "cli",
            "contract/__init__", "contract/artifact", "contract/dataset", "contract/messages", "contract/names",
            "contract/predict", "contract/schema", "contract/fastpath", "contract/params", "contract/drift",
            "contract/quality", "contract/identity", "pipeline/compile_fastpath",
            "pipeline/__init__", "pipeline/dvclock", "pipeline/evaluate", "pipeline/features",
            "pipeline/adopt", "pipeline/infer_schema",
            "pipeline/lineage", "pipeline/outputs", "pipeline/package", "pipeline/prepare", "pipeline/tracking",
            "pipeline/train", "pipeline/validate",
            "serving/__init__", "serving/batching", "serving/bento", "serving/docs_page", "serving/guard",
            "serving/limits", "serving/openapi", "serving/route", "serving/server", "serving/service", "serving/smoke",
            "serving/store", "serving/log_config", "serving/metrics", "serving/middleware", "serving/observer",
            "serving/requestlog", "serving/shadow", "serving/upload",
            "monitoring/__init__", "monitoring/monitor", "monitoring/plots", "monitoring/traffic",
            "monitoring/compare_shadow",
            "release/__init__", "release/audit", "release/environments", "release/errors",
            "release/adapters/__init__", "release/adapters/dvc_fetch", "release/adapters/github",
            "release/adapters/github_settings", "release/adapters/gitrepo", "release/adapters/registry",
            "release/adapters/storage",
            "release/promotion/__init__", "release/promotion/compare", "release/promotion/gates",
            "release/promotion/pins", "release/promotion/proposals", "release/promotion/report",
            "release/deploy/__init__", "release/deploy/check_manifests", "release/deploy/image",
            "release/deploy/manifests", "release/deploy/pinned_bento", "release/deploy/records",
            "release/deploy/rollout", "release/deploy/targets",
        )
    ),
}  # fmt: skip
# Batch scoring: the batch layer, the pinned-model choice, its tests.
EXPECTED_FILES |= {
    *(f"src/{{package}}/{m}.py" for m in ("batch/__init__", "batch/files", "batch/progress", "batch/rows", "batch/score", "batch/spark", "batch/status", "release/promotion/batch_model")),
    ".github/workflows/batch.yml", "docs/batch.md",
    ".github/workflows/monitor.yml", "src/{package}/release/promotion/retraining.py", "tests/unit/test_retraining.py",
    "tests/batch/__init__.py", "tests/batch/conftest.py", "tests/batch/test_score.py", "tests/batch/test_spark.py",
    "tests/unit/test_batch_rows.py",
}  # fmt: skip
# Jinja left unrendered; GitHub Actions' own `${{ }}` is not Jinja.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")


def tracked_files(project: Path) -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True).stdout
    return set(out.splitlines())


@pytest.fixture(scope="module", params=MATRIX, ids=list(MATRIX))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    answers = MATRIX[request.param]
    out = tmp_path_factory.mktemp(request.param)
    result = bake(out, **answers)
    assert result.returncode == 0, result.stdout + result.stderr
    (folder,) = [p for p in out.iterdir() if (p / ".git").exists()]
    return folder, answers


def test_the_repository_holds_exactly_the_expected_files(project: tuple[Path, dict[str, str]]) -> None:
    folder, _ = project
    package = next((folder / "src").iterdir()).name
    assert tracked_files(folder) == {f.replace("{package}", package) for f in EXPECTED_FILES}


def test_everything_is_committed_on_the_default_branch(project: tuple[Path, dict[str, str]]) -> None:
    folder, answers = project
    git = {"cwd": folder, "capture_output": True, "text": True, "check": True}
    assert subprocess.run(["git", "status", "--porcelain"], **git).stdout == ""  # type: ignore[call-overload]
    branch = subprocess.run(["git", "branch", "--show-current"], **git).stdout.strip()  # type: ignore[call-overload]
    assert branch == answers.get("default_branch", "main")


def test_nothing_is_left_unrendered(project: tuple[Path, dict[str, str]]) -> None:
    folder, _ = project
    for name in tracked_files(folder):
        text = (folder / name).read_text(encoding="utf-8")
        assert not LEFTOVER.search(text), f"{name}: unrendered template syntax"


def test_every_config_file_parses_and_every_module_compiles(project: tuple[Path, dict[str, str]]) -> None:
    folder, _ = project
    for name in tracked_files(folder):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        if path.suffix in {".yaml", ".yml"} or path.name == "dvc.lock":
            yaml.safe_load(text)
        elif path.suffix == ".dvc":
            assert "md5" in yaml.safe_load(text)["outs"][0]
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".py":
            compile(text, name, "exec")


def test_answers_reach_the_files(project: tuple[Path, dict[str, str]]) -> None:
    folder, answers = project
    pyproject = tomllib.loads((folder / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={answers.get('python_version', '3.11')}"
    if "description" in answers:
        assert pyproject["project"]["description"] == answers["description"]
        assert pyproject["project"]["authors"][0]["name"] == answers["author_name"]
    dvc_config = (folder / ".dvc" / "config").read_text()
    if answers.get("dvc_remote_url", "").startswith(("s3:", "gs:", "azure:")):
        assert answers["dvc_remote_url"] in dvc_config
        extra = {"s3": "s3", "gcs": "gs", "azure": "azure"}[answers["dvc_remote"]]
        assert f"dvc[{extra}]>=" in " ".join(pyproject["dependency-groups"]["train"])
    params = yaml.safe_load((folder / "params.yaml").read_text())
    metric = "r2" if answers.get("task") == "regression" else "accuracy"
    assert metric in params["evaluate"]["min"]
    (dataset,) = (folder / "src").glob("*/contract/dataset.yaml")
    task = {"classification": "multiclass", "regression": "regression"}[answers.get("task", "classification")]
    assert yaml.safe_load(dataset.read_text())["task"] == task
    licence = (folder / "LICENSE").read_text()
    assert {"MIT": "MIT License", "Apache-2.0": "Apache License", "BSD-3-Clause": "BSD 3-Clause",
            "Proprietary": "All rights reserved"}[answers.get("license", "MIT")] in licence  # fmt: skip


def test_the_local_remote_holds_the_example_data(baked: Path) -> None:
    """A fresh clone can `dvc pull`: the post-generation hook pushed the data to the default remote."""
    storage = baked.parent / f"{baked.name}-dvc-storage"
    md5 = yaml.safe_load((baked / "data/raw/penguins.csv.dvc").read_text())["outs"][0]["md5"]
    assert (storage / "files" / "md5" / md5[:2] / md5[2:]).is_file()


def test_only_the_names_module_holds_template_answers_in_the_package() -> None:
    """The package's Python reads as Python: answers reach it through contract/names.py and dataset.yaml alone."""
    package = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}"
    templated = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if "{{" in p.read_text() or "{%" in p.read_text()
    )
    assert templated == ["contract/names.py"]
