"""The model's metrics on /metrics, beside BentoML's: rejections, unseen categories, predictions, identity, the log's losses.

BentoML runs several workers and serves /metrics from prometheus_client's multiprocess files, whose folder
(PROMETHEUS_MULTIPROC_DIR) it sets for each worker. prometheus_client reads that variable when it is first
imported, so it is imported here only when a worker builds its metrics (the service's __init__): imported
earlier, it would count in memory and /metrics would never show these. (BentoML 1.4's `bentoml.metrics`
is the same deferred import, deprecated in favour of this.)
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from functools import cache
from typing import Any

from ..contract.identity import Lineage
from ..contract.schema import CATEGORICAL, CLASSIFICATION, TARGET, value_range


class ModelMetrics:
    def __init__(self) -> None:
        import prometheus_client as prom

        self.rejected = prom.Counter(
            "model_rejected_requests", "Requests refused with a 400, by the field and the reason", ["field", "reason"]
        )
        self.unseen = prom.Counter(
            "model_unseen_categories", "Values of a categorical feature outside its contract", ["feature"]
        )
        self.info = prom.Gauge(
            "model_info", "The served model's identity (always 1)",
            ["model", "version", "sha256", "bento_tag", "git_commit"], multiprocess_mode="max",
        )  # fmt: skip
        self.log_dropped = prom.Counter(
            "model_request_log_dropped_rows", "Rows the request log could not record, by the reason", ["reason"]
        )
        self.log_upload_failures = prom.Counter(
            "model_request_log_upload_failures", "Uploads of a request log file to its object store that failed"
        )
        # The shadow challenger (shadow.py): rows it scored, rows it failed, and which model it is.
        self.shadow_scored = prom.Counter("model_shadow_scored_rows", "Logged rows the shadow model scored")
        self.shadow_failures = prom.Counter("model_shadow_failures", "Logged rows the shadow model failed to score")
        self.shadow_info = prom.Gauge(
            "model_shadow_info", "The shadow model's identity (always 1)", ["version", "sha256"],
            multiprocess_mode="max",
        )  # fmt: skip
        if CLASSIFICATION:
            self.predicted: Any = prom.Counter(
                "model_predictions", "Rows answered, by the predicted class", ["prediction"]
            )
        else:
            low, high = value_range(TARGET) or (0.0, 1.0)
            buckets = [low + (high - low) * i / 10 for i in range(1, 10)]
            self.predicted = prom.Histogram("model_prediction", "The predicted values", buckets=buckets)

    def served(self, lineage: Lineage) -> None:
        self.info.labels(
            model=lineage.model_name, version=lineage.version, sha256=lineage.artifact.sha256,
            bento_tag=lineage.bento_tag, git_commit=lineage.git_commit,
        ).set(1)  # fmt: skip

    def shadow(self, lineage: Lineage) -> None:
        self.shadow_info.labels(version=lineage.version, sha256=lineage.artifact.sha256).set(1)

    def answered(self, answers: Iterable[Any]) -> None:
        """One increment per class and request, not per row: a metric update writes to a shared file."""
        if CLASSIFICATION:
            for label, count in Tally(a.prediction for a in answers).items():
                self.predicted.labels(prediction=label).inc(count)
        else:
            for answer in answers:
                self.predicted.observe(answer.prediction)

    def refused(self, problems: Iterable[tuple[str, str]]) -> None:
        """(field, reason) of each problem a 400 named; an unknown category also counts as unseen."""
        for field, reason in set(problems):
            self.rejected.labels(field=field, reason=reason).inc()
            if field in CATEGORICAL and reason == "literal_error":
                self.unseen.labels(feature=field).inc()


@cache
def worker_metrics() -> ModelMetrics:
    """This worker's metrics, made on first use (in the worker, after BentoML has set the multiprocess folder)."""
    return ModelMetrics()
