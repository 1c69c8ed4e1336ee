"""What the service does after it has its answer: count it in the metrics, and hand it to the request log.

One call per request, on the request path, so it only counts and enqueues: everything slower happens in
the request log's thread.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import bentoml

from ..contract.identity import Lineage
from . import log_config
from .metrics import worker_metrics
from .requestlog import RequestLog
from .shadow import Shadow

logger = logging.getLogger("bentoml.monitoring")
REQUEST_ID = "x-request-id"  # set on every /predict request by middleware.py


class Observer:
    def __init__(self, lineage: Lineage, shadow: Path | None = None) -> None:
        """`shadow`: the folder of the shadow model the Bento packs, if any (it scores in the log's thread)."""
        self.metrics = worker_metrics()
        self.metrics.served(lineage)
        settings = log_config.from_environment()
        sha = lineage.artifact.sha256
        challenger = Shadow(shadow, self.metrics) if shadow is not None else None
        if challenger is not None and settings.folder is None:
            logger.warning(
                "shadow model %s is packed, but REQUEST_LOG is off: it scores nothing", challenger.sha256[:12]
            )
        self.log = RequestLog(settings, self.metrics, sha, challenger) if settings.folder is not None else None
        self.context = bentoml.Context()  # reads the current request's context variables

    def close(self) -> None:
        """At the worker's shutdown: the request log writes what it holds and ships its last file."""
        if self.log is not None:
            self.log.close()

    def __call__(
        self, rows: list[dict[str, Any]], answers: list[Any], started: float, request_id: str | None = None
    ) -> None:
        """Never raises: the answer is ready, and monitoring must not turn it into a 500.

        `request_id`: the caller's, when it has the request (the service's own /predict route); else
        BentoML's context for the current request is read."""
        try:
            latency_ms = (time.perf_counter() - started) * 1000
            self.metrics.answered(answers)
            if self.log is not None:
                if request_id is None:
                    request_id = self.context.request.headers.get(REQUEST_ID, "")
                self.log.record(request_id, rows, answers, latency_ms)
        except Exception:
            logger.exception("monitoring an answered request failed; the answer is sent all the same")
