"""The Kubernetes manifests rendered from a pin: valid against the schemas (offline), shaped as a service
that loads a model should be, committed by a deploy by digest, and refused by `check-manifests` when they
name a tag, differ from what their deploy rendered, or come from a pull request."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.contract.names import DEFAULT_BRANCH
from {{ cookiecutter.package_name }}.contract.params import load
from {{ cookiecutter.package_name }}.release.adapters import gitrepo
from {{ cookiecutter.package_name }}.release.deploy import check_manifests, manifests, rollout, targets
from {{ cookiecutter.package_name }}.release.errors import ReleaseError
from {{ cookiecutter.package_name }}.release.promotion import pins

from .test_release import History, history, pin, promoted  # noqa: F401 (history: the fixture, by its name)

PROJECT = Path(__file__).resolve().parents[2]
DIGEST = "registry.example/team/service@sha256:" + "1" * 64
OTHER = "registry.example/someone/else@sha256:" + "2" * 64


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the project's params.yaml, where manifests are rendered."""
    shutil.copy(PROJECT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def written(p: pins.Pin, image: str = DIGEST) -> dict[Path, str]:
    return {path: path.read_text() for path in manifests.write_pin(p, image)}


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_the_rendered_manifests_are_valid_kubernetes(folder: Path, environment: str) -> None:
    files = written(pin(environment, "a"))
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


@pytest.fixture
def deployed(history: History, capsys: pytest.CaptureFixture[str]) -> History:  # noqa: F811
    """Staging's pin merged with the project's params.yaml, then its folder committed by a deploy (no origin)."""
    shutil.copy(PROJECT / "params.yaml", history.path / "params.yaml")
    history.git("commit", "--quiet", "--all", "-m", "The project's params, deploy section included")
    history.merge(promoted(history, "staging", "a"))
    manifests.commit(environment="staging", image=DIGEST, no_push=True)
    capsys.readouterr()
    return history


def checked(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = check_manifests.check(kubernetes_version=None)
    return code, capsys.readouterr().err


def test_a_deploy_commits_the_folder_by_digest_naming_the_commit_it_rendered(
    deployed: History, capsys: pytest.CaptureFixture[str]
) -> None:
    message = deployed.git("log", "-1", "--format=%B")
    assert message.startswith("Deploy staging by digest: model aaaaaaaaaaaa") and DIGEST in message, message
    assert gitrepo.trailers(message)["Rendered-From"] == deployed.git("rev-parse", "HEAD~1").strip()
    assert deployed.git("show", "--name-only", "--format=", "HEAD").split() == [
        f"deploy/k8s/staging/{kind}.yaml" for kind in sorted(manifests.KINDS)
    ]
    assert f"image: {DIGEST}" in (manifests.K8S / "staging/deployment.yaml").read_text()
    assert checked(capsys) == (0, "")
    tip = deployed.git("rev-parse", "HEAD")
    manifests.commit(environment="staging", image=DIGEST, no_push=True)  # the same rendering: nothing to commit
    assert deployed.git("rev-parse", "HEAD") == tip


def by_hand(repo: History, edit: Callable[[str], str], kind: str = "deployment", trailer: bool = False) -> None:
    path = manifests.K8S / f"staging/{kind}.yaml"
    path.write_text(edit(path.read_text()))
    message = deployed_message(repo) if trailer else "Edit the manifests by hand"
    repo.git("commit", "--quiet", "--all", "-m", message)


def deployed_message(repo: History) -> str:
    """The last deploy's message, trailer and all: a forger can copy it."""
    return repo.git("log", "-1", "--format=%B", "--", str(manifests.K8S))


def another_model(repo: History) -> None:
    manifests.write_pin(pin("staging", "b"), DIGEST)
    repo.git("commit", "--quiet", "--all", "-m", deployed_message(repo))


def an_extra_file(repo: History) -> None:
    """A file no rendering has, which a controller would sync all the same (.yml, not .yaml)."""
    (manifests.K8S / "staging/job.yml").write_text("apiVersion: batch/v1\nkind: Job\n")
    repo.git("add", "--all")
    repo.git("commit", "--quiet", "-m", deployed_message(repo))


def a_trailer_from_elsewhere(repo: History) -> None:
    """A commit on another branch, with a pin and params of its choosing, named as the source."""
    repo.git("switch", "--quiet", "--create", "elsewhere")
    bigger = Path("params.yaml").read_text().replace("max_replicas: 2", "max_replicas: 20")
    (repo.path / "params.yaml").write_text(bigger)
    repo.git("commit", "--quiet", "--all", "-m", "Bigger, elsewhere")
    elsewhere = repo.git("rev-parse", "HEAD").strip()
    repo.git("switch", "--quiet", DEFAULT_BRANCH)
    path = manifests.K8S / "staging/hpa.yaml"
    path.write_text(path.read_text().replace("maxReplicas: 2", "maxReplicas: 20"))
    repo.git("commit", "--quiet", "--all", "-m", f"Deploy staging\n\nRendered-From: {elsewhere}\n")


def an_unknown_environment(repo: History) -> None:
    shutil.copytree(manifests.K8S / "staging", manifests.K8S / "dev")
    repo.git("add", "--all")
    repo.git("commit", "--quiet", "-m", deployed_message(repo))


BREAKAGES: dict[str, tuple[Callable[[History], Any], str]] = {
    "a tag": (lambda h: by_hand(h, lambda t: t.replace(DIGEST, "ghcr.io/team/service:v1")), "not by digest"),
    "an edit left uncommitted": (
        lambda h: (manifests.K8S / "staging/hpa.yaml").write_text("maxReplicas: 100\n"),
        "has changes that no deploy committed",
    ),
    "an edit committed by hand": (
        lambda h: by_hand(h, lambda t: t.replace("maxReplicas: 2", "maxReplicas: 20"), "hpa"),
        "whose `Rendered-From:` names no commit of this history",
    ),
    "a trailer naming a commit off this history": (a_trailer_from_elsewhere, "names no commit of this history"),
    "an extra file under a copied trailer": (an_extra_file, "job.yml is not what the deploy at"),
    "a folder for an environment nothing pins": (an_unknown_environment, "deploy/k8s/dev: nothing to compare it with"),
    "an edit under a copied trailer": (
        lambda h: by_hand(h, lambda t: t.replace("maxReplicas: 2", "maxReplicas: 20"), "hpa", trailer=True),
        "hpa.yaml is not what the deploy at",
    ),
    "another model's rendering under a copied trailer": (another_model, "deployment.yaml is not what the deploy at"),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_check_manifests_refuses_what_no_deploy_rendered(
    deployed: History, capsys: pytest.CaptureFixture[str], breakage: str
) -> None:
    breaks, said = BREAKAGES[breakage]
    breaks(deployed)
    code, err = checked(capsys)
    assert code == 1 and said in err and "Traceback" not in err, err


def test_in_a_pull_request_what_the_base_holds_is_reported_not_failed(
    deployed: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder by tag from before this template (or a stale one) is the base's, for its next deploy to fix:
    a pull request that leaves it alone, a template update say, is not failed for it."""
    by_hand(deployed, lambda t: t.replace(DIGEST, "ghcr.io/team/service:v1"))
    deployed.git("update-ref", f"refs/remotes/origin/{DEFAULT_BRANCH}", DEFAULT_BRANCH)
    deployed.git("switch", "--quiet", "--create", "docs")
    (deployed.path / "README.md").write_text("A change to the docs.\n")
    deployed.git("add", "--all")
    deployed.git("commit", "--quiet", "-m", "Document")
    assert checked(capsys)[0] == 1  # on a push: refused
    monkeypatch.setenv("GITHUB_BASE_REF", DEFAULT_BRANCH)
    code, err = checked(capsys)
    assert code == 0 and "on the base branch, for its next deploy: deploy/k8s/staging/deployment.yaml names" in err


def test_a_folder_a_deploy_would_render_otherwise_now_is_stale(deployed: History) -> None:
    """`make pending` lists it: the next deploy renders params.yaml's new sizes, or by digest what was a tag."""
    staging = pins.read("staging")
    assert staging is not None and not manifests.stale("staging", staging)
    assert not manifests.stale("production", staging)  # no folder: nothing rendered there
    params = Path("params.yaml")
    params.write_text(params.read_text().replace("max_replicas: 2", "max_replicas: 3"))
    assert manifests.stale("staging", staging)
    deployed.git("checkout", "params.yaml")
    by_hand(deployed, lambda t: t.replace(DIGEST, "ghcr.io/team/service:v1"))
    assert manifests.stale("staging", staging)


def test_a_deploy_removes_what_the_rendering_no_longer_has(deployed: History) -> None:
    an_extra_file(deployed)
    manifests.commit(environment="staging", image=DIGEST, no_push=True)
    assert not (manifests.K8S / "staging/job.yml").exists()
    assert "deploy/k8s/staging/job.yml" not in deployed.git("ls-files")


def test_check_manifests_refuses_a_pull_request_that_touches_the_folder(
    deployed: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a rendering a deploy could have made, trailer and all: the digest is the pull request's choice."""
    deployed.git("update-ref", f"refs/remotes/origin/{DEFAULT_BRANCH}", DEFAULT_BRANCH)
    deployed.git("switch", "--quiet", "--create", "swap-image")
    manifests.commit(environment="staging", image=OTHER, no_push=True)
    assert checked(capsys) == (0, "")  # on a push, this history holds together
    monkeypatch.setenv("GITHUB_BASE_REF", DEFAULT_BRANCH)
    code, err = checked(capsys)
    assert code == 1 and "deployment.yaml: a pull request may not change deploy/k8s/" in err, err


def test_a_deploy_commits_onto_the_origin_without_moving_this_checkout(deployed: History, tmp_path: Path) -> None:
    """Pushed onto origin's tip, which moved since this checkout was made; the checkout stays where it was."""
    origin = tmp_path.parent / f"{tmp_path.name}-origin.git"
    deployed.git("clone", "--quiet", "--bare", str(deployed.path), str(origin))
    deployed.git("remote", "add", "origin", str(origin))
    other = tmp_path.parent / f"{tmp_path.name}-other"
    deployed.git("clone", "--quiet", str(origin), str(other))
    (other / "README.md").write_text("Merged meanwhile.\n")
    (other / "deploy/k8s/staging/job.yml").write_text("kind: Job\n")  # what the new rendering drops
    for args in (["add", "--all"], ["commit", "--quiet", "-m", "Merged meanwhile"], ["push", "--quiet"]):
        subprocess.run(["git", *args], cwd=other, check=True, capture_output=True)
    here = deployed.git("rev-parse", "HEAD")
    manifests.commit(environment="staging", image=OTHER, no_push=False)
    assert deployed.git("rev-parse", "HEAD") == here
    tip = subprocess.run(["git", "--git-dir", str(origin), "log", "-2", "--format=%s"], capture_output=True,
                         text=True, check=True).stdout.splitlines()  # fmt: skip
    assert tip == ["Deploy staging by digest: model aaaaaaaaaaaa", "Merged meanwhile"], tip
    shown = subprocess.run(["git", "--git-dir", str(origin), "show", f"{DEFAULT_BRANCH}:deploy/k8s/staging/deployment.yaml"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"image: {OTHER}" in shown
    listed = subprocess.run(["git", "--git-dir", str(origin), "ls-tree", "-r", "--name-only", DEFAULT_BRANCH],
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert "README.md" in listed and "deploy/k8s/staging/job.yml" not in listed


def test_a_push_rejected_because_a_merge_landed_meanwhile_is_made_again_on_the_new_tip(
    deployed: History, tmp_path: Path
) -> None:
    """The race made to happen: between the fetch and the push, another clone pushes; the first push is
    refused (not a fast-forward) and the commit is made again on what landed, which it keeps."""
    origin = tmp_path.parent / f"{tmp_path.name}-origin.git"
    deployed.git("clone", "--quiet", "--bare", str(deployed.path), str(origin))
    deployed.git("remote", "add", "origin", str(origin))
    other = tmp_path.parent / f"{tmp_path.name}-racer"
    deployed.git("clone", "--quiet", str(origin), str(other))
    tips: list[str] = []

    def race(tip: str) -> None:
        tips.append(tip)
        if len(tips) == 1:
            (other / "README.md").write_text("Landed between the fetch and the push.\n")
            for args in (["add", "--all"], ["commit", "--quiet", "-m", "Landed meanwhile"], ["push", "--quiet"]):
                subprocess.run(["git", *args], cwd=other, check=True, capture_output=True)

    files = manifests.texts("staging", pin("staging", "a"), OTHER)
    sha = gitrepo.commit_onto(DEFAULT_BRANCH, "deploy/k8s/staging", files, "Deploy staging by digest", race)
    log = subprocess.run(["git", "--git-dir", str(origin), "log", "-2", "--format=%H %s", DEFAULT_BRANCH],
                         capture_output=True, text=True, check=True).stdout.splitlines()  # fmt: skip
    assert len(tips) == 2 and tips[0] != tips[1], tips
    assert log == [f"{sha} Deploy staging by digest", f"{tips[1]} Landed meanwhile"], log


def test_a_deploy_overtaken_by_a_newer_promotion_commits_nothing(deployed: History, tmp_path: Path) -> None:
    """Two deploy runs out of order: the older must not put its model back in git over the newer pin."""
    origin = tmp_path.parent / f"{tmp_path.name}-origin.git"
    deployed.git("clone", "--quiet", "--bare", str(deployed.path), str(origin))
    deployed.git("remote", "add", "origin", str(origin))
    other = tmp_path.parent / f"{tmp_path.name}-newer"
    deployed.git("clone", "--quiet", str(origin), str(other))
    pins.write(pin("staging", "b"), other)
    for args in (["commit", "--quiet", "--all", "-m", "Promote b"], ["push", "--quiet"]):
        subprocess.run(["git", *args], cwd=other, check=True, capture_output=True)
    tip = subprocess.run(["git", "--git-dir", str(origin), "rev-parse", DEFAULT_BRANCH], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    with pytest.raises(ReleaseError, match="pins another model in staging since"):
        manifests.commit(environment="staging", image=OTHER, no_push=False)
    assert subprocess.run(["git", "--git-dir", str(origin), "rev-parse", DEFAULT_BRANCH], capture_output=True,
                          text=True, check=True).stdout == tip  # fmt: skip


@pytest.fixture
def pinned(folder: Path, monkeypatch: pytest.MonkeyPatch) -> pins.Pin:
    """Staging pinned, no cluster or URL configured, the image pushed."""
    p = pin("staging", "a")
    pins.write(p)
    for name in ("KUBECONFIG", "DEPLOY_URL", "DEPLOY_WAIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMAGE", DIGEST)
    return p


def test_the_kubernetes_target_with_no_runtime_renders_by_digest_and_says_what_to_configure(pinned: pins.Pin) -> None:
    served = targets.KubernetesTarget().deploy("staging", "")
    assert (served.url, served.image) == ("", DIGEST)
    assert f"image: {DIGEST}" in (manifests.K8S / "staging/deployment.yaml").read_text()
    said = rollout.outcome(served, pinned)
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
    with pytest.raises(ReleaseError, match=re.escape(refusal)):
        targets.KubernetesTarget().deploy("staging", "")
    assert not manifests.K8S.exists()


def test_a_url_that_answers_nothing_fails_the_check(pinned: pins.Pin) -> None:
    served = targets.Served("http://127.0.0.1:9", DIGEST, wait_s=0)  # port 9: discard, nothing listens
    with pytest.raises(ReleaseError, match="did not answer with a model"):
        rollout.outcome(served, pinned)
