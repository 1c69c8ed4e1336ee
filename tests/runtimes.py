"""`docker` and `kubectl` for the deploy workflow's jobs: podman on this machine answers for both.

GitHub's runner has a docker daemon and, once KUBE_CONFIG is configured, a cluster; here podman is
the one real engine (the docker client is installed, no daemon runs), and no cluster exists. Both
stand-ins are programs (tests/standins/docker.py, kubectl.py) put first on the jobs' PATH by `install`.

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
from pathlib import Path
from typing import Any

from . import standins


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
    folder.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(folder, credential, port)
    standins.install(folder / "bin", "docker")
    standins.install(folder / "bin", "kubectl", {"KUBECTL_STANDIN_STATE": str(cluster.state_path)})
    return cluster
