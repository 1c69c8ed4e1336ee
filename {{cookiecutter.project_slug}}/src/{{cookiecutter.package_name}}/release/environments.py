"""The environments a model moves through, in order, where each one's model must come from, and where git keeps them.

The one list: the pins, the gates, the command line, the deploy workflow (`make environments`) and
the audit read it here. Add an environment by adding it to ORDER.
"""

from __future__ import annotations

from pathlib import Path

# Each environment, and what its model must be promoted from: staging takes the candidate on the
# default branch, production only what staging runs.
ORDER = {"staging": "candidate", "production": "staging"}
ENVIRONMENTS = tuple(ORDER)
# The last environment serves the users: the PR report and the performance stage compare a change with it.
LAST = ENVIRONMENTS[-1]
# How a pin says its model got there: promoted from what came before, or restored by a rollback.
PROMOTED_FROM = (*dict.fromkeys(ORDER.values()), "rollback")
# Where a change must carry an approving review (GitHub Environment reviewers, CODEOWNERS); the audit checks.
NEEDS_APPROVAL = ("production",)
# Each environment's Kubernetes manifests, deploy/k8s/<env>/: committed by its deploys, by digest, never by a PR.
K8S = Path("deploy/k8s")


def main() -> None:
    print(" ".join(ENVIRONMENTS))
