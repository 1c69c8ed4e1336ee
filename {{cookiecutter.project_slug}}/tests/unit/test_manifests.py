"""The Kubernetes manifests rendered from a pin: valid against the schemas (offline), shaped as a service
that loads a model should be, and refused by the gates when they and the pin disagree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.pipeline.params import load
from {{ cookiecutter.package_name }}.release import deploy, manifests, pins, targets
from {{ cookiecutter.package_name }}.release.errors import ReleaseError

from .test_release import pin

PROJECT = Path(__file__).resolve().parents[2]
DIGEST = "registry.example/team/service@sha256:" + "1" * 64


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the project's params.yaml, where manifests are rendered."""
    shutil.copy(PROJECT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def written(p: pins.Pin, image: str | None = None) -> dict[Path, str]:
    return {path: path.read_text() for path in manifests.write_pin(p, image)}


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_the_rendered_manifests_are_valid_kubernetes(folder: Path, environment: str) -> None:
    files = written(pin(environment, "a"), DIGEST)
    validate = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run([str(validate), "--strict", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in files} == {f"{kind}.yaml" for kind in manifests.KINDS}


def test_a_broken_manifest_fails_the_schema_check(folder: Path) -> None:
    (path, *_) = written(pin("staging", "a"))
    path.write_text(path.read_text().replace("replicas: 1", "replicas: one"))
    validate = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run([str(validate), "--strict", str(path)], capture_output=True, text=True)
    assert result.returncode != 0 and "spec.replicas" in result.stdout + result.stderr


def test_the_deployment_runs_the_image_by_digest_as_a_non_root_user_with_probes(folder: Path) -> None:
    deployment = manifests.render("production", pin("production", "a"), DIGEST)["deployment"]
    params = load("deploy")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == DIGEST
    assert container["resources"] == params["resources"]
    assert deployment["spec"]["replicas"] == params["environments"]["production"]["min_replicas"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 300
    assert spec["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/home/bentoml", "/tmp"}
    assert deployment["metadata"]["annotations"]["ai.lastmile.model/artifact-sha256"] == "a" * 64


def test_an_image_not_named_by_digest_is_refused(folder: Path) -> None:
    with pytest.raises(ReleaseError, match="by digest"):
        manifests.render("staging", pin("staging", "a"), "registry.example/team/service:latest")


def test_manifests_that_match_their_pin_agree_by_tag_or_by_digest(folder: Path) -> None:
    p = pin("staging", "a")
    assert manifests.disagreements("staging", p, written(p)) == []
    assert manifests.disagreements("staging", p, written(p, DIGEST)) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda files: files.pop(manifests.K8S / "staging/pdb.yaml"), "pdb.yaml is missing"),
        (
            lambda files: files.update({manifests.K8S / "staging/hpa.yaml": "maxReplicas: 100\n"}),
            "hpa.yaml does not match",
        ),
    ],
    ids=["missing", "edited by hand"],
)
def test_manifests_that_differ_from_their_pin_disagree(
    folder: Path, change: Callable[[dict[Path, str]], object], problem: str
) -> None:
    p = pin("staging", "a")
    files = written(p)
    change(files)
    assert any(problem in d for d in manifests.disagreements("staging", p, files))


def test_manifests_of_another_model_disagree_with_the_pin(folder: Path) -> None:
    files = written(pin("staging", "b"))
    problems = manifests.disagreements("staging", pin("staging", "a"), files)
    assert len(problems) == len(manifests.KINDS) and all("does not match the pin" in d for d in problems)
    assert yaml.safe_load(files[manifests.K8S / "staging/deployment.yaml"])["metadata"]["name"].endswith("staging")


@pytest.fixture
def pinned(folder: Path, monkeypatch: pytest.MonkeyPatch) -> pins.Pin:
    """Staging pinned, its manifests committed by tag, no cluster or URL configured, the image pushed."""
    p = pin("staging", "a")
    pins.write(p)
    written(p)
    for name in ("KUBECONFIG", "DEPLOY_URL", "DEPLOY_WAIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMAGE", DIGEST)
    return p


def test_the_kubernetes_target_with_no_runtime_renders_by_digest_and_says_what_to_configure(pinned: pins.Pin) -> None:
    served = targets.KubernetesTarget().deploy("staging", "")
    assert (served.url, served.image) == ("", DIGEST)
    assert f"image: {DIGEST}" in (manifests.K8S / "staging/deployment.yaml").read_text()
    said = deploy.outcome(served, pinned)
    assert said.startswith("image pushed, not deployed: no cluster credential (KUBE_CONFIG secret)"), said
    assert "deployed;" not in said


@pytest.mark.parametrize(
    "env, refusal",
    [
        ({"IMAGE": "registry.example/team/service:latest"}, "give IMAGE=<repository>@sha256:"),
        ({"KUBECONFIG": "/nowhere/kubeconfig"}, "KUBECONFIG is set but DEPLOY_URL is not"),
        ({"DEPLOY_WAIT_SECONDS": "five"}, "DEPLOY_WAIT_SECONDS must be a number of seconds, not 'five'"),
    ],
    ids=["image by tag", "cluster without URL", "wait not a number"],
)
def test_the_kubernetes_target_refuses_before_it_changes_anything(
    pinned: pins.Pin, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], refusal: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = (manifests.K8S / "staging/deployment.yaml").read_text()
    with pytest.raises(ReleaseError, match=re.escape(refusal)):
        targets.KubernetesTarget().deploy("staging", "")
    assert (manifests.K8S / "staging/deployment.yaml").read_text() == before


def test_the_kubernetes_target_refuses_committed_manifests_that_differ_from_the_pin(pinned: pins.Pin) -> None:
    hpa = manifests.K8S / "staging/hpa.yaml"
    hpa.write_text(hpa.read_text().replace("maxReplicas: 2", "maxReplicas: 20"))
    with pytest.raises(ReleaseError, match=r"the committed manifests do not match the pin: .*hpa\.yaml"):
        targets.KubernetesTarget().deploy("staging", "")


def test_a_url_that_answers_nothing_fails_the_check(pinned: pins.Pin) -> None:
    served = targets.Served("http://127.0.0.1:9", DIGEST, wait_s=0)  # port 9: discard, nothing listens
    with pytest.raises(ReleaseError, match="did not answer with a model"):
        deploy.outcome(served, pinned)
