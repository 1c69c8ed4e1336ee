"""The trained project's image, built offline with real podman, run, refused when tampered, pushed and pulled.

Podman is configured into the test's folder with a base image built from Debian's packages
(tests/containers.py); the registry is Debian's `docker-registry` on 127.0.0.1, started and stopped
(by PID) by this module, its registries file in the test's folder (CONTAINERS_REGISTRIES_CONF).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import containers, runtimes
from .conftest import make
from .github import GitHub
from .servers import free_port, http, wait_for_200
from .workflows.actions import ACTIONS
from .workflows.jobs import Job
from .workflows.runner import for_project

pytestmark = pytest.mark.e2e

BASE_IMAGE = containers.BASE_IMAGE
# What the image may weigh, all layers unpacked (`podman image inspect`): docs/deploy.md says what is in it.
SIZE_BUDGET_MB = 600


def podman_available() -> None:
    missing = containers.missing_tools() + [tool for tool in ("docker-registry",) if shutil.which(tool) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (.ci/system-packages installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Podman configured into a folder of its own, with a base image built from Debian packages."""
    podman_available()
    root = tmp_path_factory.mktemp("podman")
    env = dict(os.environ, **containers.configure(root))
    started = time.monotonic()
    containers.debian_base(env, root)
    print(f"base image from Debian packages in {time.monotonic() - started:.1f} s")
    yield env
    subprocess.run(["podman", "rm", "--all", "--force", "--time", "5"], env=env, capture_output=True)


def podman(env: dict[str, str], *args: str, check: bool = True, timeout: float = 600) -> str:
    result = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def image(trained: tuple[Path, dict[str, str]], bento: str, engine: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """`make image` with the Debian base image: its name and the lineage of the model it serves."""
    project, env = trained
    started = time.monotonic()
    out = make(project, "image", env | engine | {"BASE_IMAGE": BASE_IMAGE})
    print(f"make image (wheelhouse + offline build) in {time.monotonic() - started:.1f} s")
    (name,) = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("image: ")]
    return name, json.loads((project / "models/lineage.json").read_text())


def wait_ready(url: str, env: dict[str, str], container: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
        (state,) = json.loads(podman(env, "container", "inspect", container))
        if state["State"]["Status"] == "exited":
            break
    logs = subprocess.run(["podman", "logs", container], env=env, capture_output=True, text=True)
    pytest.fail(f"{url} not ready (container {state['State']['Status']}):\n{(logs.stdout + logs.stderr)[-3000:]}")


def test_the_image_is_labelled_with_the_model_and_runs_as_a_non_root_user(
    image: tuple[str, dict[str, Any]], engine: dict[str, str]
) -> None:
    name, lineage = image
    (info,) = json.loads(podman(engine, "image", "inspect", name))
    labels = info["Config"]["Labels"]
    assert labels["ai.lastmile.model.artifact-sha256"] == lineage["artifact"]["sha256"]
    version = lineage["artifact"]["sha256"][:12]
    assert labels["ai.lastmile.model.version"] == version == labels["org.opencontainers.image.version"]
    assert labels["ai.lastmile.model.training-commit"] == lineage["git_commit"]
    assert labels["ai.lastmile.model.bento-tag"] == lineage["bento_tag"]
    assert info["Config"]["User"] == "10001:10001"
    assert "/readyz" in " ".join(info["Healthcheck"]["Test"])  # podman shows it beside Config, docker inside


def test_the_image_weighs_at_most_its_budget(image: tuple[str, dict[str, Any]], engine: dict[str, str]) -> None:
    """Bytes, not speed: the same on any machine. What serves is checked by the tests around this one."""
    size = containers.size_mb(engine, image[0])
    print(f"image size {size:.0f} MB (podman image inspect)")
    assert size <= SIZE_BUDGET_MB, f"{image[0]} is {size:.0f} MB, the budget {SIZE_BUDGET_MB} MB (docs/deploy.md)"


def test_the_container_serves_the_model_it_is_labelled_with(
    image: tuple[str, dict[str, Any]], engine: dict[str, str], trained: tuple[Path, dict[str, str]]
) -> None:
    name, lineage = image
    port = free_port()
    # As the Kubernetes manifests run it: a read-only root filesystem, writable BentoML home and /tmp only.
    # (podman 4.3 ignores a tmpfs `mode=`; `U` gives the tmpfs to the image's user, as fsGroup does an emptyDir.)
    container = podman(engine, "run", "--detach", "--publish", f"127.0.0.1:{port}:3000", "--read-only",
                       "--tmpfs", "/home/bentoml:U", name)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, engine, container)
        assert http("GET", f"{url}/metadata") == (200, lineage)
        project, _ = trained
        example = json.loads(subprocess.run(
            [".venv/bin/python", "-c", "import json, yaml; print(json.dumps(yaml.safe_load("
             "open('src/penguin_species/contract/dataset.yaml'))['example']))"],
            cwd=project, capture_output=True, text=True, check=True).stdout)  # fmt: skip
        status, served = http("POST", f"{url}/predict", {"records": [example]})
        assert status == 200 and len(served) == 1 and "prediction" in served[0], served
        # Inside the container, the service runs as the image's user, not root.
        assert podman(engine, "exec", container, "id", "-u") == "10001"
    finally:
        podman(engine, "rm", "--force", "--time", "10", container)


def test_a_tampered_artifact_stops_the_container_with_one_line(
    image: tuple[str, dict[str, Any]], engine: dict[str, str], tmp_path: Path
) -> None:
    name, lineage = image
    artifact = f"/opt/bento/models/penguin_species/{lineage['artifact']['sha256'][:12]}/model.joblib"
    tampered = tmp_path / "model.joblib"
    tampered.write_bytes(b"not the model")
    tampered.chmod(0o644)
    result = subprocess.run(["podman", "run", "--rm", "--volume", f"{tampered}:{artifact}:ro", name],
                            env=engine, capture_output=True, text=True, timeout=300)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    refusal = [line for line in output.splitlines() if "refusing to start" in line]
    assert len(refusal) == 1 and f"lineage says {lineage['artifact']['sha256'][:12]}" in refusal[0], output[-3000:]
    assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, engine: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Debian's docker-registry on 127.0.0.1, over plain HTTP (podman told so by a registries file); stopped by PID."""
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    (root / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\n"
        f"http:\n  addr: {address}\n"
    )
    (root / "registries.conf").write_text(f'[[registry]]\nlocation = "{address}"\ninsecure = true\n')
    log = (root / "log").open("wb")
    process = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")], stdout=log, stderr=log)
    try:
        try:
            wait_for_200(process, f"http://{address}/v2/", timeout=30)
        except Exception as error:
            pytest.fail(f"{error}\n{(root / 'log').read_text()}")
        yield address, engine | {"CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf")}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_deploy_to_a_container_pushes_by_digest_serves_the_pin_and_records_the_digest(
    trained: tuple[Path, dict[str, str]], bento: str, registry: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """make deploy TARGET=container REGISTRY=… on a merged promotion, then make undeploy; pulled back by digest."""
    address, engine = registry
    original, env = trained
    # Beside the original, so its relative DVC remote resolves; a copy, since a deploy adds tags and notes.
    project = original.parent / "penguin-species-container"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(original, project, symlinks=True)
    try:
        env = env | engine | {"BASE_IMAGE": BASE_IMAGE, "REGISTRY": address}
        run = {"cwd": project, "env": env, "check": True, "capture_output": True, "text": True}
        out = subprocess.run(["uv", "run", "--no-sync", "python", "-m", "penguin_species", "promote", "staging",
                              "--no-push"], **run).stdout  # fmt: skip
        branch = out.split()[1].rstrip(";")
        subprocess.run(["git", "merge", "--no-ff", "-m", "Merge pull request #1 from promote", branch], **run)
        (tmp_path / "reviews.json").write_text(json.dumps({"pull_request": 1, "reviews": []}))
        started = time.monotonic()
        subprocess.run(["make", "deploy", "ENV=staging", "TARGET=container", f"REVIEWS={tmp_path / 'reviews.json'}",
                        "NO_PUSH=1"], **run)  # fmt: skip
        print(f"make deploy TARGET=container (image build, push, run) to ready in {time.monotonic() - started:.1f} s")
        notes = subprocess.run(["git", "notes", "--ref", "deployments", "show", "HEAD"], **run).stdout
        note = json.loads(notes.splitlines()[-1])
        pin = json.loads((project / "models/lineage.json").read_text())
        assert note["result"] == "deployed; /metadata matches the pin" and note["target"] == "container"
        assert note["artifact_sha256"] == pin["artifact"]["sha256"]
        repository, digest = note["image"].split("@")
        assert repository == f"{address}/penguin-species" and digest.startswith("sha256:"), note
        assert http("GET", f"{note['url']}/metadata") == (200, pin)
        audit = subprocess.run(["make", "audit"], **run).stdout
        assert note["image"] in audit

        # What a GitOps controller syncs: the folder by the pushed digest, which a promotion never carries.
        assert not (project / "deploy/k8s").exists()
        subprocess.run(["make", "commit-manifests", "ENV=staging", f"IMAGE={note['image']}", "NO_PUSH=1"], **run)
        assert f"image: {note['image']}" in (project / "deploy/k8s/staging/deployment.yaml").read_text()
        checked = subprocess.run(["make", "check-manifests"], **run).stdout
        assert "4 files by digest, as their deploys rendered them, and valid" in checked, checked

        subprocess.run(["make", "undeploy", "ENV=staging"], **run)
        assert podman(engine, "ps", "--all", "--filter", "name=penguin-species-staging", "--quiet") == ""
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{note['url']}/readyz", timeout=5)

        # What a cluster would run: the image by digest, from the registry, with the identity on it.
        for local in set(podman(engine, "images", "--quiet", "--filter", "reference=*/penguin-species").split()):
            podman(engine, "rmi", "--force", local)
        podman(engine, "pull", "--quiet", note["image"])
        (info,) = json.loads(podman(engine, "image", "inspect", note["image"]))
        assert info["Config"]["Labels"]["ai.lastmile.model.artifact-sha256"] == pin["artifact"]["sha256"]
        assert any(d.endswith(digest) for d in info["RepoDigests"]), info["RepoDigests"]
    finally:
        shutil.rmtree(project, ignore_errors=True)


@pytest.fixture
def wrong_model(tmp_path: Path) -> Iterator[str]:
    """An HTTP server whose /metadata names another model (an environment URL left on an old service): its URL.
    Started and stopped by its PID."""
    port = free_port()
    metadata = json.dumps({"artifact": {"sha256": "0" * 64}})
    script = ("import http.server as h\nclass H(h.BaseHTTPRequestHandler):\n def do_GET(s):\n"
              f"  s.send_response(200); s.end_headers(); s.wfile.write({metadata!r}.encode())\n"
              f"h.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n")  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_200(process, f"{url}/metadata", timeout=30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_deploy_yml_pushes_attests_and_records_deployed_only_when_the_url_serves_the_pin(
    trained: tuple[Path, dict[str, str]],
    registry: tuple[str, dict[str, str]],
    wrong_model: str,
    tmp_path: Path,
) -> None:
    """The faithful runner runs deploy.yml on a merged promotion, its docker and kubectl answered by podman:
    (a) nothing configured: the image is pushed by digest and attested, the note says "image pushed, not
    deployed" with the digest, no tag; (c) DEPLOY_URL serving another model: the job fails, nothing recorded;
    (b) KUBE_CONFIG and DEPLOY_URL: kubectl applies the manifests by digest, the real image serves on the
    URL, the note says "deployed" and the tag is pushed."""
    address, engine = registry
    original, env = trained
    project = original.parent / "penguin-species-deploywf"  # beside the DVC remote, as jobs beside the origin are
    origin = original.parent / "deploywf-origin.git"
    for path in (project, origin):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(original, project, symlinks=True)
    started = time.monotonic()
    try:
        run = {"cwd": project, "env": env, "check": True, "capture_output": True, "text": True}
        out = subprocess.run(["uv", "run", "--no-sync", "python", "-m", "penguin_species", "promote", "staging",
                              "--no-push"], **run).stdout  # fmt: skip
        branch = out.split()[1].rstrip(";")
        subprocess.run(["git", "clone", "--quiet", "--bare", str(project), str(origin)], check=True)
        github = GitHub(origin, original.parent / "deploywf-github")
        pull = github.open_pull_request(branch, "Promote to staging")
        github.review(pull, [{"user": {"login": "alice"}, "state": "APPROVED"}])
        merged = github.merge(pull)
        credential = "apiVersion: v1\nkind: Config\nclusters: [{name: test, cluster: {server: https://cluster.test}}]\n"
        port = free_port()
        cluster = runtimes.install(tmp_path / "cluster", credential, port)
        job_env = (
            env | engine | {"BASE_IMAGE": BASE_IMAGE, "PATH": f"{tmp_path / 'cluster/bin'}{os.pathsep}{env['PATH']}"}
        )
        lineage = json.loads((project / "models/lineage.json").read_text())
        sha = lineage["artifact"]["sha256"]

        def deploy(label: str, event: Any, staging: dict[str, dict[str, str]], plan: Any = None) -> Any:
            runner = for_project(project, job_env, label, workflow="deploy.yml", github=github, beside_origin=True,
                                 variables={"IMAGE_REGISTRY": address}, environments={"staging": staging})  # fmt: skip
            if plan is not None:  # the plan of a run a moment ago: it would say the same
                return runner, {"plan": plan, "staging": runner.run_job("staging", event, {"plan": plan})}
            return runner, runner.run_all(event)

        def notes() -> list[dict[str, Any]]:
            shown = subprocess.run(["git", "--git-dir", str(origin), "notes", "--ref", "deployments", "show",
                                    merged.sha], capture_output=True, text=True)  # fmt: skip
            return [json.loads(line) for line in shown.stdout.splitlines() if line]

        def tags() -> list[str]:
            return subprocess.run(["git", "--git-dir", str(origin), "tag", "--list", "penguin_species#*"],
                                  capture_output=True, text=True, check=True).stdout.split()  # fmt: skip

        def at_origin(*args: str) -> str:
            return subprocess.run(["git", "--git-dir", str(origin), *args], capture_output=True, text=True,
                                  check=True).stdout  # fmt: skip

        # (a) Nothing configured: pushed by digest, attested, recorded as not deployed; staging stays pending.
        runner, results = deploy("deploywf-a", merged, {})
        assert results["plan"].ok and results["staging"].ok, results["staging"].failure()
        (record,) = notes()
        repository, digest = record["image"].split("@")
        assert repository == f"{address}/team/penguin-species" and digest.startswith("sha256:"), record
        assert record["result"] == ("image pushed, not deployed: no cluster credential (KUBE_CONFIG secret) and no "
                                    "DEPLOY_URL variable in the environment (see docs/deploy.md)"), record  # fmt: skip
        assert record["tag"] is None and tags() == [] and "deployed;" not in json.dumps(notes())
        actions = [json.loads(line) for line in runner.actions_log.read_text().splitlines()]
        assert [a["action"] for a in actions] == ["docker/login-action", "actions/attest-build-provenance"]
        assert actions[1]["inputs"] == {
            "subject-name": repository,
            "subject-digest": digest,
            "push-to-registry": "true",
        }
        assert cluster.calls() == []
        # The digest is in git, where Argo CD or Flux syncs it from, rendered from the merge the run checked out.
        assert f"image: {record['image']}" in at_origin("show", "main:deploy/k8s/staging/deployment.yaml")
        message = at_origin("log", "-1", "--format=%B", "main")
        assert message.startswith("Deploy staging by digest") and f"Rendered-From: {merged.sha}" in message, message
        print(f"(a) deploy.yml, nothing configured: {time.monotonic() - started:.1f} s")

        # (c) The URL serves another model (GitOps mode, no cluster credential): the job fails, nothing recorded.
        mark = time.monotonic()
        _, failed = deploy("deploywf-c", github.dispatch_event(), {"vars": {"DEPLOY_URL": wrong_model,
                           "DEPLOY_WAIT_SECONDS": "4"}}, plan=results["plan"])  # fmt: skip
        assert not failed["staging"].ok
        assert f"{wrong_model} serves 000000000000, the pin says {sha[:12]}" in failed["staging"].failure()
        assert notes() == [record] and tags() == [] and cluster.calls() == []
        print(f"(c) deploy.yml, a URL serving another model: {time.monotonic() - mark:.1f} s")

        # (b) A cluster and its URL: applied by digest, rolled out, the URL serves the pin: deployed.
        mark = time.monotonic()
        url = f"http://127.0.0.1:{port}"
        _, results = deploy("deploywf-b", github.dispatch_event(),
                            {"vars": {"DEPLOY_URL": url}, "secrets": {"KUBE_CONFIG": credential}})  # fmt: skip
        assert results["plan"].outputs["staging"] == "true"  # "image pushed, not deployed" kept it pending
        assert results["staging"].ok, results["staging"].failure()
        print(f"(b) deploy.yml to the cluster stand-in: {time.monotonic() - mark:.1f} s")
        (deployed,) = [note for note in notes() if note != record]  # a note's lines are sorted, not dated
        assert deployed["result"] == "deployed; /metadata matches the pin" and deployed["url"] == url, deployed
        assert deployed["tag"] == "penguin_species#staging#1" and tags() == ["penguin_species#staging#1"]
        assert [c["args"][:2] for c in cluster.calls()] == [["apply", "--filename"], ["rollout", "status"]]
        assert cluster.calls()[0]["args"][2] == "deploy/k8s/staging/"
        (applied,) = cluster.state["applies"]
        assert applied["image"] == deployed["image"] and applied["name"] == "penguin-species-staging"
        assert applied["annotations"]["ai.lastmile.model/artifact-sha256"] == sha
        assert http("GET", f"{url}/metadata") == (200, lineage)
        assert f"image: {deployed['image']}" in at_origin("show", "main:deploy/k8s/staging/deployment.yaml")
        # origin's main as a clone has it: each folder by digest, as the deploy that committed it rendered it.
        subprocess.run(["git", "fetch", "--quiet", str(origin), "main"], cwd=project, check=True)
        subprocess.run(["git", "switch", "--quiet", "--detach", "FETCH_HEAD"], cwd=project, check=True)
        checked = subprocess.run(["make", "check-manifests"], cwd=project, env=env, capture_output=True, text=True)
        assert checked.returncode == 0 and "4 files by digest" in checked.stdout, checked.stdout + checked.stderr
    finally:
        state = tmp_path / "cluster/kubectl-state.json"
        found = json.loads(state.read_text()).get("container") if state.exists() else None
        if found:
            podman(engine, "rm", "--force", "--time", "10", found)
            assert podman(engine, "ps", "--all", "--quiet", "--filter", f"id={found}") == ""
        shutil.rmtree(project, ignore_errors=True)


def test_the_registry_stand_ins_refuse_a_job_without_the_permissions_github_asks_for(tmp_path: Path) -> None:
    """docker/login-action's and attest-build-provenance's stand-ins fail as GitHub would without packages,
    id-token and attestations write permissions, and attest nothing but one digest."""
    job = Job("staging", tmp_path, {}, tmp_path, tmp_path, None, {"contents": "write"})  # type: ignore[arg-type]
    login = {"registry": "ghcr.io", "username": "someone", "password": "token"}
    with pytest.raises(RuntimeError, match="packages: write"):
        ACTIONS["docker/login-action"](job, login)
    subject = {"subject-name": "ghcr.io/team/model", "subject-digest": "sha256:" + "a" * 64}
    with pytest.raises(RuntimeError, match="id-token: write, attestations: write"):
        ACTIONS["actions/attest-build-provenance"](job, subject)
    job.permissions = {"id-token": "write", "attestations": "write", "packages": "write"}
    with pytest.raises(RuntimeError, match="subject-digest sha256"):
        ACTIONS["actions/attest-build-provenance"](job, subject | {"subject-digest": "latest"})
    with pytest.raises(RuntimeError, match=r"not logged in to ghcr\.io"):
        ACTIONS["actions/attest-build-provenance"](job, subject | {"push-to-registry": "true"})
    assert "attested" in ACTIONS["actions/attest-build-provenance"](job, subject)
