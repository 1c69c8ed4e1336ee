"""The names this repository was baked with: the one Python module that holds template answers.

Everything else reads them from here, so renaming the model or the default branch is an edit of this file.
"""

from __future__ import annotations

# The MLflow registered model, the BentoML model and the lineage record all use this name.
MODEL_NAME = "{{ cookiecutter.package_name }}"
# The BentoML service, hence the Bento's name; also the MLflow experiment.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
# Where promotions land; the PR report compares against it.
DEFAULT_BRANCH = "{{ cookiecutter.default_branch }}"
# The embedded MLflow store; MLFLOW_TRACKING_URI overrides it (pipeline/tracking.py).
DEFAULT_TRACKING_URI = "{{ cookiecutter.mlflow_tracking_uri | replace('\\', '\\\\') | replace('"', '\\"') }}"
