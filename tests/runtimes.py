"""`docker` and `kubectl` for the deploy workflow's jobs: podman on this machine answers for both.

GitHub's runner has a docker daemon and, once KUBE_CONFIG is configured, a cluster; here podman is
the one real engine (the docker client is installed, no daemon runs), and no cluster exists. Both
stand-ins are programs put first on the jobs' PATH by `install`.

`docker` passes every command to podman, with the settings of the podman the test configured (runc,
bounded ulimits, its storage and registries files, from the job's environment). How it is kinder
than the runner's docker:
- `build` gets `--format docker` (docker's only format, which keeps the HEALTHCHECK); BuildKit's own
  behaviour (its cache, its output) is not reproduced, only the flags the Makefile's target passes.
- `push` is podman's, with its digest printed in docker's last line (`<tag>: digest: sha256:… size: 0`,
  the size not computed), which is how the project reads the digest from docker.
- The registry is the test's, on 127.0.0.1 over plain HTTP, with no credentials (docker/login-action
  is accepted by tests/workflows/, never checked by the registry); GHCR needs the job's token.

`kubectl` is a recording stand-in for a one-node cluster. Every call is appended to the calls file.
It accepts only a KUBECONFIG file holding exactly the credential the test configured, `apply
--filename <folder>/` and `rollout status deployment/<name>`. `apply` validates what it is given: the
folder's files against the Kubernetes schemas (kubernetes-validate --strict, from the job's .venv), the
four kinds the project renders, and the Deployment's image named by digest. `rollout status` "rolls
out" that Deployment by running its image with podman, pulled from the registry by digest
(`--pull always`), with a read-only root filesystem and writable /home/bentoml and /tmp as the
manifests ask, published on the port the test's DEPLOY_URL names; it waits for /readyz, and refuses
an image whose artifact label differs from the Deployment's annotation. How it is kinder than a cluster:
- One container, not `replicas` pods; no scheduler, namespaces, RBAC, admission webhooks or quotas;
  the Service, HorizontalPodAutoscaler and PodDisruptionBudget are validated, never enforced.
- Readiness is one wait on /readyz (no startup or liveness probes, no preStop hook, no rolling update:
  the previous container is removed first, so there is a moment with no pod).
- DEPLOY_URL reaches the container's port directly: no Service, ingress or load balancer in between.
- The credential is compared with a string; no API server authenticates it.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

DOCKER = r'''#!{python}
"""docker -> podman (the Lastmile template's tests/runtimes.py)."""
import os, re, subprocess, sys, tempfile

args = sys.argv[1:]
if args[:1] == ["build"]:
    os.execvp("podman", ["podman", "build", "--format", "docker", *args[1:]])
if args[:1] == ["push"]:
    with tempfile.TemporaryDirectory() as folder:
        digest_file = os.path.join(folder, "digest")
        done = subprocess.run(["podman", "push", "--quiet", "--digestfile", digest_file, *args[1:]])
        if done.returncode:
            sys.exit(done.returncode)
        tag = args[-1].rsplit("/", 1)[-1].partition(":")[2] or "latest"
        print(f"{{tag}}: digest: {{open(digest_file).read().strip()}} size: 0")
    sys.exit(0)
os.execvp("podman", ["podman", *args])
'''

KUBECTL = r'''#!{python}
"""A recording kubectl whose cluster is podman on this machine (the Lastmile template's tests/runtimes.py)."""
import json, os, subprocess, sys, time, urllib.request
import yaml

state_path = {state!r}
args = sys.argv[1:]
with open(state_path) as f:
    state = json.load(f)
config = os.environ.get("KUBECONFIG", "")
with open(state["calls"], "a") as log:
    log.write(json.dumps({{"args": args, "cwd": os.getcwd(), "kubeconfig": bool(config)}}) + "\n")
if not config or not os.path.exists(config) or open(config).read().strip() != state["credential"].strip():
    sys.exit("error: You must be logged in to the server (Unauthorized)")


def save():
    with open(state_path, "w") as f:
        json.dump(state, f)


if args[:2] == ["apply", "--filename"] and len(args) == 3:
    folder = args[2]
    files = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".yaml"))
    validate = os.path.join(os.getcwd(), ".venv", "bin", "kubernetes-validate")
    checked = subprocess.run([validate, "--strict", "--quiet", *files], capture_output=True, text=True)
    if checked.returncode:
        sys.exit(f"error: validating {{folder}}: {{(checked.stdout + checked.stderr).strip()[-500:]}}")
    resources = [yaml.safe_load(open(path)) for path in files]
    kinds = sorted(r["kind"] for r in resources)
    if kinds != ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]:
        sys.exit(f"error: expected a Deployment, Service, HPA and PDB, got {{kinds}}")
    (deployment,) = [r for r in resources if r["kind"] == "Deployment"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    if "@sha256:" not in image:
        sys.exit(f"error: the cluster runs images by digest only, not {{image}}")
    state["applied"] = {{"name": deployment["metadata"]["name"], "image": image,
                        "annotations": deployment["spec"]["template"]["metadata"]["annotations"]}}
    state.setdefault("applies", []).append(state["applied"])
    save()
    for r in resources:
        print(f"{{r['kind'].lower()}}/{{r['metadata']['name']}} configured")
    sys.exit(0)

if args[:2] == ["rollout", "status"] and len(args) in (3, 4):
    applied = state.get("applied")
    if not applied or args[2] != f"deployment/{{applied['name']}}":
        sys.exit(f'Error from server (NotFound): deployments.apps "{{args[2]}}" not found')
    timeout = float(args[3].removeprefix("--timeout=").rstrip("s")) if len(args) == 4 else 300
    if state.get("container"):
        subprocess.run(["podman", "rm", "--force", "--time", "10", state["container"]], capture_output=True)
    run = subprocess.run(["podman", "run", "--detach", "--pull", "always", "--name", applied["name"],
                          "--publish", f"127.0.0.1:{{state['port']}}:3000", "--read-only",
                          "--tmpfs", "/home/bentoml:U", applied["image"]], capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"error: the pod could not start: {{run.stderr.strip()[-500:]}}")
    state["container"] = run.stdout.strip()
    save()
    inspect = json.loads(subprocess.run(["podman", "image", "inspect", applied["image"]], capture_output=True,
                                        text=True, check=True).stdout)[0]
    label = inspect["Config"]["Labels"].get("ai.lastmile.model.artifact-sha256")
    if label != applied["annotations"].get("ai.lastmile.model/artifact-sha256"):
        sys.exit(f"error: the image's artifact label {{label}} is not the Deployment's annotation")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{{state['port']}}/readyz", timeout=5) as answer:
                if answer.status == 200:
                    print(f'deployment "{{applied["name"]}}" successfully rolled out')
                    sys.exit(0)
        except OSError:
            time.sleep(1)
    sys.exit("error: timed out waiting for the condition")

sys.exit(f"kubectl stand-in: unsupported call: kubectl {{' '.join(args)}}")
'''


class Cluster:
    """The kubectl stand-in's state: the credential it accepts, the port it publishes on, what it ran."""

    def __init__(self, folder: Path, credential: str, port: int) -> None:
        self.folder, self.credential, self.port = folder, credential, port
        self.state_path, self.calls_path = folder / "kubectl-state.json", folder / "kubectl-calls.jsonl"
        self.state_path.write_text(json.dumps({"credential": credential, "port": port,
                                               "calls": str(self.calls_path)}))  # fmt: skip
        self.calls_path.write_text("")

    @property
    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_path.read_text()))

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.calls_path.read_text().splitlines() if line]


def install(folder: Path, credential: str, port: int) -> Cluster:
    """Write `docker` and `kubectl` into folder/bin (put it first on the jobs' PATH)."""
    bin_folder = folder / "bin"
    bin_folder.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(folder, credential, port)
    for name, text in (("docker", DOCKER.format(python=sys.executable)),
                       ("kubectl", KUBECTL.format(python=sys.executable, state=str(cluster.state_path)))):  # fmt: skip
        path = bin_folder / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return cluster
