"""The BentoML service: POST /predict, GET /metadata, its page at /, and BentoML's /livez, /readyz and /metrics.

The request and response contract comes from contract/messages.py, so a request it rejects gets a 400 naming
the field before the model sees it. The artifact is checked against its lineage record before
any worker starts; a mismatch stops the server with one line.
"""

from __future__ import annotations

import os
import time
from functools import cache, partial
from pathlib import Path
from typing import Annotated

import bentoml
import threadpoolctl
from bentoml.validators import ContentType
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..contract.artifact import ArtifactError, load_verified
from ..contract.messages import MAX_BATCH_ROWS, Prediction, Records
from ..contract.names import MODEL_NAME, SERVICE_NAME
from ..contract.predict import predictions
from ..monitoring.live import config as log_config
from ..monitoring.live.middleware import Watch
from ..monitoring.live.observer import Observer
from . import docs_page, openapi
from .batching import Batcher
from .guard import JSON, RequestGuard
from .limits import MAX_BODY_BYTES, REQUEST_TIMEOUT_S
from .store import MODEL_TAG_VARIABLE

# A class attribute of the service, so `bentoml build` packs this model into the Bento: the exact
# version the build names (bento.py sets BENTO_MODEL_TAG), or the latest one in development.
BENTO_MODEL = bentoml.models.BentoModel(os.environ.get(MODEL_TAG_VARIABLE) or f"{MODEL_NAME}:latest")


def packed_model() -> Path:
    """The folder of the model this service serves: the exact one its Bento records.

    Several versions share a local BentoML store, so a built Bento must not ask for "latest".
    """
    bento = getattr(PredictionService, "bento", None)  # set by BentoML when it serves a built Bento
    tag = next(m.tag for s in bento.info.services for m in s.models) if bento else BENTO_MODEL.tag
    return Path(bentoml.models.get(tag).path)


async def metadata(request: Request) -> JSONResponse:
    return JSONResponse(bentoml.get_current_service().lineage)


@cache
def openapi_body() -> bytes:
    """BentoML's document for this service, corrected: built once per worker, on its first request."""
    document = PredictionService.openapi_spec.asdict()  # type: ignore[attr-defined]  # a bentoml.Service
    lineage = bentoml.get_current_service().lineage
    return bytes(JSONResponse(openapi.corrected(document, lineage)).body)


async def openapi_document(request: Request) -> Response:
    """Replaces BentoML's /docs.json (a mounted route matches first)."""
    return Response(openapi_body(), media_type=JSON)


ROUTES = [Route("/metadata", metadata, methods=["GET"]), Route("/docs.json", openapi_document, methods=["GET"])]
ROUTES.append(Route("/", docs_page.page, methods=["GET"]))  # BentoML's page loads a third-party script


@bentoml.asgi_app(Starlette(routes=ROUTES), path="/")
# One worker per core, each with the model loaded once; a worker runs one predict call at a time
# (batching.py), so a core never splits its time between two predictions.
@bentoml.service(name=SERVICE_NAME, workers="cpu_count", traffic={"timeout": REQUEST_TIMEOUT_S})
class PredictionService:
    bento_model = BENTO_MODEL

    @bentoml.on_deployment
    def verify_artifact() -> None:
        """Runs once, before any worker: fail closed, with one line, if the artifact is not the recorded one.

        Loading it too, not only checking its digest: an artifact that matches its record but cannot be
        unpickled would otherwise fail in every worker's __init__, which BentoML restarts forever.
        """
        try:
            load_verified(packed_model())
        except ArtifactError as error:
            raise SystemExit(f"refusing to start: {error}") from None
        try:
            log_config.from_environment()
        except ValueError as error:
            raise SystemExit(f"refusing to start: request log: {error}") from None

    def __init__(self) -> None:
        self.model, self.lineage = load_verified(packed_model())
        # One predict thread per worker, and a worker per core: scikit-learn's OpenMP threads would only
        # contend with the other workers (and spin while they wait: a core's worth of CPU at one client).
        self.batcher = Batcher(
            partial(predictions, self.model), MAX_BATCH_ROWS, initializer=partial(threadpoolctl.threadpool_limits, 1)
        )
        self.observe = Observer(self.lineage)  # metrics and the request log (monitoring/live/)

    # Concurrent requests share one predict call (batching.py). The media type is declared: left to
    # BentoML 1.4.39, it is derived from the response model's JSON schema on every response.
    @bentoml.api
    async def predict(self, records: Records) -> Annotated[list[Prediction], ContentType(JSON)]:
        started = time.perf_counter()
        rows = [record.model_dump() for record in records]  # type: ignore[attr-defined]
        answers = await self.batcher(rows)
        self.observe(rows, answers, started)  # monitoring: count the answer, enqueue it for the request log
        return answers


# Before BentoML reads a body: an oversized one gets a 413, a non-JSON one a 415 (see guard.py).
PredictionService.add_asgi_middleware(RequestGuard, max_body_bytes=MAX_BODY_BYTES)  # type: ignore[attr-defined]
# A request id for each /predict, and each 400 counted by field and reason (monitoring/live/middleware.py).
PredictionService.add_asgi_middleware(Watch)  # type: ignore[attr-defined]
