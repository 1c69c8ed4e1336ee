"""The shadow challenger: a second verified model that scores the logged requests after they are answered.

It runs in the request log's writer thread, on what that thread takes off the queue, so a request never
waits for it and a shadow that fails costs no answer: its rows are counted (model_shadow_failures_total),
the server log says so once per worker, and the log lines carry the error instead of a shadow prediction.
It scores the rows the request log samples, and nothing when the log is off (there is nowhere to compare).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import threadpoolctl

from ..contract.artifact import load_verified
from ..contract.predict import predictions
from .metrics import ModelMetrics

logger = logging.getLogger("bentoml.monitoring")


class Shadow:
    def __init__(self, folder: Path, metrics: ModelMetrics) -> None:
        """Load the packed shadow, digest checked (the service checked it before any worker started)."""
        self.model, self.lineage = load_verified(folder)
        self.sha256 = self.lineage.artifact.sha256
        self.metrics = metrics
        self.told = False
        metrics.shadow(self.lineage)

    def score(self, rows: list[dict[str, Any]]) -> list[Any] | str:
        """The shadow's answers for the rows, in order, or the error's one-line name; never raises."""
        try:
            # One thread, like the predict thread: the workers already take every core.
            with threadpoolctl.threadpool_limits(1):
                answers = predictions(self.model, rows)
            if len(answers) != len(rows):
                raise ValueError(f"{len(answers)} answers for {len(rows)} rows")
        except Exception as error:
            text = str(error).splitlines()[0][:200] if str(error) else ""
            reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
            self.metrics.shadow_failures.inc(len(rows))
            if not self.told:
                self.told = True
                logger.warning(
                    "shadow model %s failed to score (%s); the answers were sent, and its failed rows are "
                    "counted in model_shadow_failures_total",
                    self.sha256[:12], reason,
                )  # fmt: skip
            return reason
        self.metrics.shadow_scored.inc(len(rows))
        return answers

    def fields(self, scored: list[Any] | str, index: int) -> dict[str, Any]:
        """What a request log line says of the shadow for the row at `index`."""
        if isinstance(scored, str):
            return {"shadow_sha256": self.sha256, "shadow_error": scored}
        answer = scored[index]
        return {"shadow_sha256": self.sha256, "shadow_prediction": answer.prediction,
                "shadow_probabilities": getattr(answer, "probabilities", None)}  # fmt: skip
