"""The registry mirror on a real MLflow store (sqlite in a temporary folder): a model is registered once
per artifact, only from the run that trained it, and an environment's alias points at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.contract.identity import Lineage
from {{ cookiecutter.package_name }}.pipeline import tracking
from {{ cookiecutter.package_name }}.release.adapters import registry
from {{ cookiecutter.package_name }}.release.errors import ReleaseError


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)  # the embedded store keeps its artifacts in the working directory
    return tmp_path


def trained(sha: str) -> Lineage:
    """A model logged to the store as the train stage logs one, and its lineage record."""
    import mlflow
    from sklearn.dummy import DummyClassifier

    tracking.start()
    with mlflow.start_run() as run:
        model = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
        mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    return Lineage.model_validate(
        {
            "schema_version": 1,
            "model_name": "model",
            "mlflow_run_id": run.info.run_id,
            "artifact": {"file": "model.joblib", "sha256": sha * 64},
            "bento_tag": f"service:{sha * 12}",
            "git_commit": "c" * 40,
            "git_dirty": False,
            "data": {},
            "params_sha256": "e" * 64,
            "metrics": {"accuracy": 0.95},
            "created_at": "2026-11-24T10:00:00+00:00",
        }
    )


def test_a_model_is_registered_once_per_artifact_and_aliased_per_environment(store: Path) -> None:
    first, second = trained("a"), trained("b")
    assert registry.find(first) is None
    assert [registry.register(first), registry.register(first), registry.register(second)] == ["1", "1", "2"]
    assert registry.set_alias("staging", second) == "2"
    found = tracking.start().get_model_version_by_alias("model", "staging")
    assert (str(found.version), found.tags[registry.DIGEST_TAG]) == ("2", "b" * 64)
    assert found.tags["lineage.git_commit"] == "c" * 40


def test_a_model_whose_run_is_not_in_this_store_is_refused_by_name(store: Path) -> None:
    stranger = trained("a").model_copy(update={"mlflow_run_id": "0" * 32})
    with pytest.raises(ReleaseError, match=f"MLflow run {'0' * 32} is not in sqlite:///"):
        registry.register(stranger)
    assert registry.find(stranger) is None


def test_the_tracking_uri_is_shown_without_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "https://ci:s3cret@mlflow.example.com:5000/path"  # pragma: allowlist secret
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert tracking.shown_uri() == "https://mlflow.example.com:5000/path"
